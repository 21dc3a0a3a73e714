"""Files: uploaded imports, their error sheets, announcement attachments.

In AWS they live in the stack's S3 bucket (`CRM_BUCKET`); locally and in tests, under a
directory (`CRM_FILES_DIR`, `.local/files` for `make run`). A browser puts and gets
attachments directly with presigned URLs: S3's own, or locally the stack's small file
server (`infra/local/files.py`), which checks an HMAC signature the same way.

An upload URL is made only for a key under `uploads/` and writes it once (it signs
`If-None-Match: *`, so S3 refuses a second PUT). What is published is a copy made by
`publish`: the size checked against the object that was measured (its ETag), the SHA-256
recorded, at a key no upload URL can reach.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from chalicelib.db.keys import UPLOADS_PREFIX
from chalicelib.settings import get_settings

URL_SECONDS = 900  # a presigned URL works for 15 minutes
# Sent with every upload PUT (and signed into the URL): the key is written once, never replaced.
UPLOAD_HEADERS = {"If-None-Match": "*"}


@dataclass(frozen=True)
class FileInfo:
    size: int
    etag: str


class NotAnUploadKeyError(ValueError):
    """An upload URL was asked for a key outside `uploads/` (a published file, an import)."""


def _upload_key(key: str) -> str:
    if not key.startswith(UPLOADS_PREFIX) or ".." in key.split("/"):
        raise NotAnUploadKeyError(f"upload URLs are made for {UPLOADS_PREFIX} keys only: {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def size(self, key: str) -> int | None: ...

    def head(self, key: str) -> FileInfo | None: ...

    def publish(self, source: str, target: str, etag: str) -> str | None:
        """Copies `source` to `target` if it is still the object with `etag`; the copy's
        SHA-256 (base64), or None when the source is gone or has changed."""
        ...

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

    def put_new(self, key: str, data: bytes) -> bool:
        """Writes a key that does not exist yet (what a PUT with `If-None-Match: *` does);
        False, and nothing written, if it exists."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.{time.monotonic_ns()}.part")
        partial.write_bytes(data)
        try:
            os.link(partial, target)  # atomic, and fails if the target is there
        except FileExistsError:
            return False
        finally:
            partial.unlink()
        return True

    def head(self, key: str) -> FileInfo | None:
        data = self.get(key)
        return None if data is None else FileInfo(size=len(data), etag=hashlib.md5(data).hexdigest())  # noqa: S324

    def publish(self, source: str, target: str, etag: str) -> str | None:
        data = self.get(source)
        if data is None or hashlib.md5(data).hexdigest() != etag:  # noqa: S324 - S3's ETag, not security
            return None
        self.put(target, data, "")
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _url(self, method: str, key: str, content_type: str = "", **extra: str) -> str:
        expires = int(time.time()) + URL_SECONDS
        query = {"expires": str(expires), "signature": signature(self.secret, method, key, expires, content_type)}
        return f"{self.base_url}/{quote(key)}?{urlencode({**query, **extra})}"

    def upload_url(self, key: str, content_type: str) -> str:
        return self._url("PUT", _upload_key(key), content_type)

    def verify(self, method: str, key: str, expires: str, given: str, content_type: str = "") -> bool:
        """What the local file server checks: the signature, and that it has not expired."""
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(signature(self.secret, method, key, int(expires), content_type), given)

    def download_url(self, key: str, filename: str) -> str:
        return self._url("GET", key, filename=filename)


class _ClientError(Protocol):
    """What `_missing` reads of botocore's ClientError (botocore has no type stubs here)."""

    response: dict[str, Any]


def _missing(exc: _ClientError) -> bool:
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

    def head(self, key: str) -> FileInfo | None:
        from botocore.exceptions import ClientError

        try:
            found = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return FileInfo(size=int(found["ContentLength"]), etag=found["ETag"])

    def publish(self, source: str, target: str, etag: str) -> str | None:
        """A server-side copy, only of the object measured (CopySourceIfMatch), with S3
        computing the copy's SHA-256."""
        from botocore.exceptions import ClientError

        try:
            copied = self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
                CopySourceIfMatch=etag,
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as exc:
            if _missing(exc) or exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                return None
            raise
        return copied["CopyObjectResult"]["ChecksumSHA256"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # S3: deleting nothing is no error

    def upload_url(self, key: str, content_type: str) -> str:
        return self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": _upload_key(key), "ContentType": content_type, "IfNoneMatch": "*"},
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
