"""GoogleCloudStorageObserver: the file-storage layout inside a GCS bucket.

    ex.observers.append(GoogleCloudStorageObserver(bucket="bucket-name",
                                                   basedir="/experiment-name/"))

Credentials come from ``GOOGLE_APPLICATION_CREDENTIALS`` as documented; ``client``
may be given instead (e.g. an anonymous client for the storage emulator, which the
library selects through ``STORAGE_EMULATOR_HOST``). The bucket must exist.
"""

from __future__ import annotations

from typing import Any

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
        if client is None:
            from google.cloud import storage

            client = storage.Client(project=project)
        self.client = client
        self._bucket = client.bucket(bucket)
        if not self._bucket.exists():
            raise ValueError(
                f"The Google Cloud Storage bucket {bucket!r} does not exist (or is not "
                "accessible with the current credentials); create it first."
            )

    @classmethod
    def create(cls, bucket: str, basedir: str, **kwargs: Any) -> GoogleCloudStorageObserver:
        return cls(bucket, basedir, **kwargs)

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._bucket.blob(key).upload_from_string(data, content_type=content_type)

    def _list(self, prefix: str) -> list[str]:
        iterator = self.client.list_blobs(self._bucket, prefix=prefix, delimiter="/")
        keys = [blob.name for blob in iterator]
        return keys + list(iterator.prefixes)

    def _exists(self, key: str) -> bool:
        return self._bucket.blob(key).exists()
