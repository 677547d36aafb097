"""The raw-files bucket and its access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BucketConfig:
    """The raw-files bucket and its access-log bucket."""

    # The only key prefix whose new objects notify the ingest queue.
    raw_prefix: str = "raw-files/"
    noncurrent_version_expiration_days: int = 30
    access_log_expiration_days: int = 365
    # Only for environments whose removal policy is DESTROY: lets `cdk destroy` empty the
    # buckets first (adds CDK's auto-delete custom resource).
    auto_delete_objects: bool = False

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not self.raw_prefix or self.raw_prefix.startswith("/") or not self.raw_prefix.endswith("/"):
            found.append(("raw_prefix", "must be a key prefix like 'raw-files/' (no leading "
                                        "slash, ending with '/')"))
        if self.noncurrent_version_expiration_days < 1:
            found.append(("noncurrent_version_expiration_days", "must be at least 1"))
        if self.access_log_expiration_days < 1:
            found.append(("access_log_expiration_days", "must be at least 1"))
        return found
