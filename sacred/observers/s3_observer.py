"""S3Observer: the file-storage layout inside an S3 bucket (see _bucket_layout).

    ex.observers.append(S3Observer(bucket="my-awesome-bucket",
                                   basedir="/my-project/my-cool-experiment/"))

The region comes from ``region`` or the AWS configuration; without either the
constructor fails, as documented. ``endpoint_url`` and further keyword arguments go
to ``boto3.client("s3", ...)`` (e.g. for S3-compatible servers). The bucket is
created if it does not exist.
"""

from __future__ import annotations

from typing import Any

from sacred.observers._bucket_layout import BucketObserver

__all__ = ["S3Observer"]


class S3Observer(BucketObserver):
    def __init__(
        self,
        bucket: str,
        basedir: str,
        region: str | None = None,
        priority: int = 20,
        endpoint_url: str | None = None,
        **client_kwargs: Any,
    ) -> None:
        import boto3

        super().__init__(bucket, basedir, priority)
        session = boto3.session.Session()
        self.region = region or session.region_name
        if not self.region:
            raise ValueError(
                "S3Observer needs a region: pass region='eu-central-1' (for example) or set "
                "one in your AWS configuration ('aws configure')."
            )
        self.s3 = session.client(
            "s3", region_name=self.region, endpoint_url=endpoint_url, **client_kwargs
        )
        self._ensure_bucket()

    @classmethod
    def create(
        cls, bucket: str, basedir: str, region: str | None = None, **kwargs: Any
    ) -> S3Observer:
        return cls(bucket, basedir, region, **kwargs)

    def _ensure_bucket(self) -> None:
        import botocore.exceptions

        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError:
            options: dict = {}
            if self.region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.s3.create_bucket(Bucket=self.bucket, **options)

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def _list(self, prefix: str) -> list[str]:
        keys = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            keys += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def _exists(self, key: str) -> bool:
        import botocore.exceptions

        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except botocore.exceptions.ClientError:
            return False
