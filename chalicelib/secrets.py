"""Secrets, read on first use: from the environment locally, from SSM in the cloud."""

from __future__ import annotations

import threading

from chalicelib.errors import CrmError
from chalicelib.settings import get_settings

_lock = threading.Lock()
_cache: dict[str, str] = {}


def get_jwt_secret() -> str:
    settings = get_settings()
    if settings.jwt_secret:
        return settings.jwt_secret
    if not settings.jwt_secret_param:
        raise CrmError("The token secret is not configured (CRM_JWT_SECRET or CRM_JWT_SECRET_PARAM).")
    with _lock:
        if settings.jwt_secret_param not in _cache:
            _cache[settings.jwt_secret_param] = _read_parameter(settings.jwt_secret_param, settings.region)
        return _cache[settings.jwt_secret_param]


def _read_parameter(name: str, region: str, client=None) -> str:
    if client is None:
        import boto3  # lazy: keeps boto3 off the API's import path

        client = boto3.client("ssm", region_name=region)
    response = client.get_parameter(Name=name, WithDecryption=True)
    return response["Parameter"]["Value"]
