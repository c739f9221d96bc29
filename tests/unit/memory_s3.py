"""An in-memory bucket honouring IfNoneMatch="*" like S3/MinIO, for collector tests (and the
GET/DELETE that history block claims use, and the listings after a key of the landed log)."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError


class MemoryS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}
        """Each key's LastModified: when it was put (a test may move it back)."""
        self.puts = 0
        self.lists = 0
        self._lock = threading.Lock()  # a conditional PUT is atomic, also across threads

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.puts += 1
            key = kwargs["Key"]
            if kwargs.get("IfNoneMatch") == "*" and key in self.objects:
                raise ClientError(
                    {"Error": {"Code": "PreconditionFailed", "Message": "exists"}}, "PutObject"
                )
            self.objects[key] = kwargs["Body"]
            self.modified[key] = datetime.now(UTC)
            return {}

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        key = kwargs["Key"]
        if key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "absent"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[key])}

    def delete_object(self, **kwargs: Any) -> dict[str, Any]:
        self.objects.pop(kwargs["Key"], None)
        self.modified.pop(kwargs["Key"], None)
        return {}

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        """One page of at most 2 keys, to exercise the callers' paging."""
        with self._lock:
            self.lists += 1
            keys = sorted(k for k in self.objects if k.startswith(kwargs.get("Prefix", "")))
        after = kwargs.get("ContinuationToken", kwargs.get("StartAfter", ""))
        rest = [k for k in keys if k > after]
        size = min(2, kwargs.get("MaxKeys", 2))
        page = rest[:size]
        return {
            "Contents": [{"Key": k, "LastModified": self.modified[k]} for k in page],
            "IsTruncated": len(rest) > size,
            **({"NextContinuationToken": page[-1]} if len(rest) > size else {}),
        }

    def envelopes(self, prefix: str = "raw/") -> list[dict[str, Any]]:
        return [
            json.loads(body) for key, body in sorted(self.objects.items()) if key.startswith(prefix)
        ]
