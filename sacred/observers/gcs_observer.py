"""GoogleCloudStorageObserver: the file-storage layout inside a GCS bucket.

    ex.observers.append(GoogleCloudStorageObserver(bucket="bucket-name",
                                                   basedir="/experiment-name/"))

Credentials come from ``GOOGLE_APPLICATION_CREDENTIALS`` as documented; ``client``
may be given instead (e.g. an anonymous client for the storage emulator, which the
library selects through ``STORAGE_EMULATOR_HOST``). The bucket must exist; it is
checked when a run starts (constructing the observer never touches the network).
"""

from __future__ import annotations

from typing import Any

from sacred.exceptions import ObserverError
from sacred.observers._bucket_layout import BucketObserver

__all__ = ["GoogleCloudStorageObserver"]


class GoogleCloudStorageObserver(BucketObserver):
    def __init__(
        self,
        bucket: str,
        basedir: str,
        priority: int = 20,
        client: Any = None,
        project: str | None = None,
    ) -> None:
        super().__init__(bucket, basedir, priority)
        self.client = client
        self.project = project
        self._bucket: Any = None

    @classmethod
    def create(cls, bucket: str, basedir: str, **kwargs: Any) -> GoogleCloudStorageObserver:
        return cls(bucket, basedir, **kwargs)

    def _connect(self) -> None:
        if self.client is None:
            from google.cloud import storage

            self.client = storage.Client(project=self.project)
        self._bucket = self.client.bucket(self.bucket)
        if not self._bucket.exists():
            raise ObserverError(
                f"GoogleCloudStorageObserver: the bucket {self.bucket!r} does not exist (or "
                "is not accessible with the current credentials); create it first."
            )

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._bucket.blob(key).upload_from_string(data, content_type=content_type)

    def _get(self, key: str) -> bytes | None:
        blob = self._bucket.blob(key)
        return blob.download_as_bytes() if blob.exists() else None

    def _list(self, prefix: str) -> list[str]:
        iterator = self.client.list_blobs(self._bucket, prefix=prefix, delimiter="/")
        keys = [blob.name for blob in iterator]
        return keys + list(iterator.prefixes)

    def _exists(self, key: str) -> bool:
        return self._bucket.blob(key).exists()
