"""The `reason` names of dead-lettered messages, and which ones a redrive moves by default.

The worker puts a `reason` message attribute on what it sends to the DLQ itself (poison it
recognised); SQS's redrive policy moves a message after `maxReceiveCount` receives without
adding any attribute, which `ops` names `max_receive_count`. A default redrive moves only what
can succeed once the cause is fixed; poison fails again and needs `--reason` or `--all`.
"""

from __future__ import annotations

MAX_RECEIVE_COUNT = "max_receive_count"  # no `reason` attribute: moved by SQS's redrive policy

# Can succeed after a fix: a transient failure repeated maxReceiveCount times, a document the
# index refused (fix the mapping), an object the worker could not read (fix the permission/key).
RETRYABLE = (MAX_RECEIVE_COUNT, "index_rejected", "object_unreadable")
# Fail again however often they are retried: the body is not an S3 event, or the object/bucket
# is gone.
POISON = ("malformed_json", "not_s3_event", "object_missing", "bucket_missing")
KNOWN = RETRYABLE + POISON
