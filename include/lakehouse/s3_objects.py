"""The one way the lake's small objects are written if absent: a PUT with `If-None-Match: *`.

S3 and MinIO refuse such a PUT with 412 PreconditionFailed when the key exists, atomically, so two
writers racing for one key cannot both win. The raw zone's envelopes, the backfill claims and the
landed log rely on it; nothing else should decide what a refused conditional PUT looks like. Their
reads of a key that may be absent go through `get_if_present`, their listings through
`list_objects` (or `list_keys`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from botocore.exceptions import ClientError


class S3Objects(Protocol):
    """The part of boto3's S3 client the lake's object writers use."""

    def put_object(self, **kwargs: Any) -> Any: ...

    def get_object(self, **kwargs: Any) -> Any: ...

    def delete_object(self, **kwargs: Any) -> Any: ...

    def list_objects_v2(self, **kwargs: Any) -> Any: ...


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


MISSING = ("NoSuchKey", "404", "NotFound")
"""The codes S3 and MinIO answer a GET of a key that is not there with."""


def get_if_present(s3: S3Objects, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when there is no such key (any other error is raised)."""
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if error_code(exc) in MISSING:
            return None
        raise


def put_if_absent(s3: S3Objects, bucket: str, key: str, body: bytes) -> bool:
    """True when this call created `key`; False when it was already there (nothing written)."""
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
        )
    except ClientError as exc:
        if error_code(exc) in ("PreconditionFailed", "412"):
            return False
        raise
    return True


def list_objects(
    s3: S3Objects, bucket: str, prefix: str, start_after: str = ""
) -> Iterator[dict[str, Any]]:
    """Every object under `prefix` in key order (after `start_after`), a page at a time, as
    ListObjectsV2 gives it (`Key`, `LastModified`, ...)."""
    token: dict[str, str] = {"StartAfter": start_after} if start_after else {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **token)
        yield from page.get("Contents", [])
        if not page.get("IsTruncated"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


def list_keys(s3: S3Objects, bucket: str, prefix: str, start_after: str = "") -> Iterator[str]:
    """Every key under `prefix` in key order (after `start_after`)."""
    return (str(item["Key"]) for item in list_objects(s3, bucket, prefix, start_after))
