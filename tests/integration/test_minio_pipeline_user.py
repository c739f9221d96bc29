"""The pipeline's MinIO key reaches the lake's bucket and nothing else (runtime.minio)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import Minio

from lakehouse.raw_zone import s3_client
from lakehouse.runtime import minio as runtime_minio

pytestmark = pytest.mark.integration


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_the_pipeline_key_cannot_touch_another_bucket(minio: Minio) -> None:
    root = minio.client()
    other = f"other-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=other)
    root.put_object(Bucket=other, Key="private.json", Body=b"{}")
    creds = {
        "MINIO_ROOT_USER": minio.lake.access_key,
        "MINIO_ROOT_PASSWORD": minio.lake.secret_key,
        "LAKEHOUSE_S3_ACCESS_KEY": f"pipeline-{uuid.uuid4().hex[:8]}",
        "LAKEHOUSE_S3_SECRET_KEY": uuid.uuid4().hex,
    }
    runtime_minio.ensure_pipeline_user(minio.lake, creds)
    runtime_minio.ensure_pipeline_user(minio.lake, creds)  # every `lakehouse up` runs it again
    pipeline = s3_client(
        replace(
            minio.lake,
            access_key=creds["LAKEHOUSE_S3_ACCESS_KEY"],
            secret_key=creds["LAKEHOUSE_S3_SECRET_KEY"],
        )
    )
    bucket = minio.lake.bucket

    # Everything the pipeline does in its own bucket: conditional and multipart PUTs, list, delete.
    key = f"raw/test/{uuid.uuid4().hex}.json"
    pipeline.put_object(Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    again = refused(pipeline.put_object, Bucket=bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    assert again == "PreconditionFailed"
    assert pipeline.get_object(Bucket=bucket, Key=key)["Body"].read() == b"{}"
    listed = pipeline.list_objects_v2(Bucket=bucket, Prefix="raw/test/")
    assert key in [item["Key"] for item in listed["Contents"]]
    upload = pipeline.create_multipart_upload(Bucket=bucket, Key=f"{key}.big")
    pipeline.abort_multipart_upload(Bucket=bucket, Key=f"{key}.big", UploadId=upload["UploadId"])
    pipeline.delete_object(Bucket=bucket, Key=key)

    # Nothing beyond it.
    assert refused(pipeline.get_object, Bucket=other, Key="private.json") == "AccessDenied"
    assert refused(pipeline.put_object, Bucket=other, Key="x.json", Body=b"{}") == "AccessDenied"
    assert refused(pipeline.list_objects_v2, Bucket=other) == "AccessDenied"
    assert refused(pipeline.delete_object, Bucket=other, Key="private.json") == "AccessDenied"
    assert refused(pipeline.create_bucket, Bucket=f"new-{uuid.uuid4().hex[:8]}") == "AccessDenied"
    assert refused(pipeline.delete_bucket, Bucket=bucket) == "AccessDenied"
    assert refused(pipeline.put_bucket_policy, Bucket=bucket, Policy="{}") == "AccessDenied"
    assert root.get_object(Bucket=other, Key="private.json")["Body"].read() == b"{}"
