"""Read one object from S3 and build its document; classify S3 failures."""
from __future__ import annotations

from typing import Any

from . import extract
from .events import ObjectRef, PoisonMessage
from .messages import RetryLater
from .planning import FetchedObject, build_document

MISSING_OBJECT_CODES = ("NoSuchKey", "404", "NotFound")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or the exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


class ObjectFetcher:
    def __init__(self, s3: Any, max_object_bytes: int) -> None:
        self.s3 = s3
        self.max_object_bytes = max_object_bytes

    def fetch(self, owner: Any, ref: ObjectRef) -> FetchedObject:
        """GetObject and extract; raises PoisonMessage (object or bucket gone) or RetryLater."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.s3.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            code = error_code(exc)
            if code in MISSING_OBJECT_CODES:
                raise PoisonMessage("object_missing", f"s3://{ref.bucket}/{ref.key}") from None
            if code == "NoSuchBucket":
                raise PoisonMessage("bucket_missing", ref.bucket) from None
            raise RetryLater(code, str(exc)[:200]) from None
        except BotoCoreError as exc:
            raise RetryLater(type(exc).__name__, str(exc)[:200]) from None
        body = resp["Body"]
        size = int(resp.get("ContentLength") or 0)
        text = None
        try:
            if size <= self.max_object_bytes and extract.supported(ref.key):
                text = extract.extract_text(ref.key, body.read())
        except (BotoCoreError, OSError) as exc:
            raise RetryLater(type(exc).__name__, str(exc)[:200]) from None
        finally:
            body.close()  # large and unsupported objects are not downloaded at all
        return build_document(owner, ref, resp, text)
