"""An in-memory bucket honouring IfNoneMatch="*" like S3/MinIO, for collector tests."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class MemoryS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.puts += 1
        key = kwargs["Key"]
        if kwargs.get("IfNoneMatch") == "*" and key in self.objects:
            raise ClientError(
                {"Error": {"Code": "PreconditionFailed", "Message": "exists"}}, "PutObject"
            )
        self.objects[key] = kwargs["Body"]
        return {}

    def envelopes(self, prefix: str = "raw/") -> list[dict[str, Any]]:
        return [
            json.loads(body) for key, body in sorted(self.objects.items()) if key.startswith(prefix)
        ]
