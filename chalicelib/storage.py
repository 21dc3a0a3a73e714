"""Files: uploaded imports, their error sheets, announcement attachments.

In AWS they live in the stack's S3 bucket (`CRM_BUCKET`); locally and in tests, under a
directory (`CRM_FILES_DIR`, `.local/files` for `make run`). A browser puts and gets
attachments directly with presigned URLs: S3's own, or locally the stack's small file
server (`infra/local/files.py`), which checks an HMAC signature the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

from chalicelib.settings import get_settings

URL_SECONDS = 900  # a presigned URL works for 15 minutes


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def size(self, key: str) -> int | None: ...

    def delete(self, key: str) -> None: ...

    def upload_url(self, key: str, content_type: str) -> str: ...

    def download_url(self, key: str, filename: str) -> str: ...


def signature(secret: str, method: str, key: str, expires: int, content_type: str = "") -> str:
    message = "\n".join((method, key, str(expires), content_type)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class LocalStorage:
    """Files under a directory; presigned URLs point at the local file server."""

    def __init__(self, root: str, base_url: str, secret: str):
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.secret = secret

    def path(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise ValueError(f"file key outside the store: {key!r}")
        return target

    def put(self, key: str, data: bytes, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        partial.replace(target)  # a reader never sees half a file

    def get(self, key: str) -> bytes | None:
        target = self.path(key)
        return target.read_bytes() if target.is_file() else None

    def size(self, key: str) -> int | None:
        target = self.path(key)
        return target.stat().st_size if target.is_file() else None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _url(self, method: str, key: str, content_type: str = "", **extra: str) -> str:
        expires = int(time.time()) + URL_SECONDS
        query = {"expires": str(expires), "signature": signature(self.secret, method, key, expires, content_type)}
        return f"{self.base_url}/{quote(key)}?{urlencode({**query, **extra})}"

    def upload_url(self, key: str, content_type: str) -> str:
        return self._url("PUT", key, content_type)

    def verify(self, method: str, key: str, expires: str, given: str, content_type: str = "") -> bool:
        """What the local file server checks: the signature, and that it has not expired."""
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(signature(self.secret, method, key, int(expires), content_type), given)

    def download_url(self, key: str, filename: str) -> str:
        return self._url("GET", key, filename=filename)


def _missing(exc: Exception) -> bool:
    """S3's answer for a key that is not there: 404, or 403 to a role without s3:ListBucket."""
    return exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "AccessDenied", "404", "403")


class S3Storage:
    def __init__(self, bucket: str, region: str):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        # SigV4 presigned URLs (SigV2 is deprecated, and cannot sign the Content-Type)
        self.client = boto3.client("s3", region_name=region, config=Config(signature_version="s3v4"))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        """None for a missing key."""
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # S3: deleting nothing is no error

    def upload_url(self, key: str, content_type: str) -> str:
        return self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=URL_SECONDS,
        )

    def download_url(self, key: str, filename: str) -> str:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=URL_SECONDS,
        )


_stores: dict[tuple, Storage] = {}


def store() -> Storage:
    """The store the current settings name (cached per configuration)."""
    settings = get_settings()
    config = (settings.bucket, settings.region, settings.files_dir, settings.files_url, settings.jwt_secret)
    if config not in _stores:
        if settings.bucket:
            _stores[config] = S3Storage(settings.bucket, settings.region)
        else:
            _stores[config] = LocalStorage(settings.files_dir, settings.files_url, settings.jwt_secret or "local")
    return _stores[config]
