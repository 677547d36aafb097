"""S3 -> SQS -> OpenSearch ingestion worker. Standard library + boto3/botocore, plus the
wheels bundled into the asset for extraction (worker_asset/requirements.txt).

The order a message goes through (worker.py runs it; rounds.py is one round):
  receive    receive a batch from SQS; the messages become held (held.py), and the heartbeat
             (heartbeat.py) keeps them invisible while held
  s3_events  parse the S3 notifications out of each body
  fetch      read each object as the event names it; extraction/ reads its text in a
             sandboxed process pool (a hostile file costs its text, never the worker)
  plan       build the documents; read what is indexed (`_mget`) and plan the writes
  index      write them (`_bulk`) through the OpenSearch client
  outcomes   each message ends with exactly one outcome: finished, dead-letter or retry
  settle     delete, dead-letter with a reason, or give back to SQS
Along the way, gate.py pauses consumption while S3 or the index fails for reasons that are not
the message's (faults.py reads the AWS error codes), and lifecycle.py answers the Auto Scaling
hook on shutdown.
"""
from __future__ import annotations

__version__ = "1.0.0"
