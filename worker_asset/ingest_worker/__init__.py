"""S3 -> SQS -> OpenSearch ingestion worker. Standard library + boto3/botocore only."""
__version__ = "1.0.0"
