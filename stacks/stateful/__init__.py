"""The stateful stack: the raw bucket, the queues and the worker's access to them."""
