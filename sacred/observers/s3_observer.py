"""S3Observer: the file-storage layout inside an S3 bucket (see _bucket_layout).

    ex.observers.append(S3Observer(bucket="my-awesome-bucket",
                                   basedir="/my-project/my-cool-experiment/"))

The bucket name is checked against S3's naming rules and the region is taken from
``region`` or the AWS configuration when the observer is created (without either
the constructor fails, as documented); the network is first used when a run starts,
when the bucket is created if it does not exist. ``endpoint_url`` and further
keyword arguments go to ``boto3.client("s3", ...)`` (e.g. for S3-compatible servers).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from sacred.observers._bucket_layout import BucketObserver

__all__ = ["S3Observer", "check_bucket_name"]

_BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")


def check_bucket_name(name: str) -> None:
    """ValueError saying which S3 bucket naming rule ``name`` breaks."""
    problem = None
    if not isinstance(name, str) or not 3 <= len(name) <= 63:
        problem = "it must be 3 to 63 characters long"
    elif not _BUCKET_CHARACTERS.match(name):
        problem = (
            "it may hold only lowercase letters, digits, dots and hyphens, and must begin "
            "and end with a letter or digit"
        )
    elif ".." in name or ".-" in name or "-." in name:
        problem = "it must not hold two adjacent dots, nor a dot next to a hyphen"
    elif name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        problem = "it must not begin with 'xn--' or 'sthree-' nor end with '-s3alias' or '--ol-s3'"
    else:
        try:
            ipaddress.IPv4Address(name)
            problem = "it must not look like an IP address"
        except ValueError:
            pass
    if problem:
        raise ValueError(
            f"S3Observer: {name!r} is not a valid S3 bucket name: {problem}. "
            "See https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
        )


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
        check_bucket_name(bucket)
        import boto3

        super().__init__(bucket, basedir, priority)
        self._session = boto3.session.Session()
        self.region = region or self._session.region_name
        if not self.region:
            raise ValueError(
                "S3Observer needs a region: pass region='eu-central-1' (for example) or set "
                "one in your AWS configuration ('aws configure')."
            )
        self.endpoint_url = endpoint_url
        self.client_kwargs = client_kwargs
        self.s3: Any = None

    # The original's attributes: where in the bucket the sources, resources and the
    # current run's files go ("<basedir>/_sources", ..., "<basedir>/<run id>").
    @property
    def source_dir(self) -> str:
        return self._key("_sources")

    @property
    def resource_dir(self) -> str:
        return self._key("_resources")

    @property
    def dir(self) -> str | None:
        run_id = getattr(self, "run_id", None)
        return None if run_id is None else self._key(run_id)

    def __eq__(self, other: object) -> bool:
        # As the original: the same bucket and directory is the same store.
        if isinstance(other, S3Observer):
            return (self.bucket, self.basedir) == (other.bucket, other.basedir)
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((S3Observer, self.bucket, self.basedir))

    @classmethod
    def from_cli(cls, value: str) -> S3Observer:
        """``-S s3://bucket/basedir`` (the ``s3://`` may be left out)."""
        path = value.removeprefix("s3://").strip("/")
        bucket, _, basedir = path.partition("/")
        if not basedir:
            raise ValueError(
                f"--s3 needs s3://bucket/basedir, not {value!r}: name the directory "
                "inside the bucket that holds the runs."
            )
        return cls(bucket, basedir)

    @classmethod
    def create(
        cls, bucket: str, basedir: str, region: str | None = None, **kwargs: Any
    ) -> S3Observer:
        return cls(bucket, basedir, region, **kwargs)

    def _connect(self) -> None:
        import botocore.exceptions

        self.s3 = self._session.client(
            "s3", region_name=self.region, endpoint_url=self.endpoint_url, **self.client_kwargs
        )
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError:
            options: dict = {}
            if self.region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.s3.create_bucket(Bucket=self.bucket, **options)

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def _get(self, key: str) -> bytes | None:
        import botocore.exceptions

        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except botocore.exceptions.ClientError:
            return None

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
