"""The network stack: the VPC, its endpoints and security groups."""
