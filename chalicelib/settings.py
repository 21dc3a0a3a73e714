"""One settings object for every entry point (API, jobs, stream, console).

Read from environment variables once, checked here (a number must be a whole number), and
lenient at import time: `chalice package` imports app.py with none of them set, so nothing here
may fail or touch the network until a value is actually used.

A plain dataclass, not a pydantic model: every entry point imports it first (the logger and the
table name need it), and the stream function's and the jobs' cold start should not pay for
pydantic (docs/decisions/0007-lean-stream-and-logging.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache

# Stages that run on this machine (`make run`, the tests): any origin may call the API.
LOCAL_STAGES = frozenset({"local", "test"})
_ORIGIN = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class SettingsError(RuntimeError):
    """The configuration cannot be run: the message says which variable and why."""


@dataclass
class Settings:
    stage: str = "local"
    table_name: str = "campus-crm-local"
    # Set for DynamoDB Local; unset in AWS so botocore resolves the regional endpoint.
    dynamodb_endpoint: str | None = None
    region: str = "us-east-1"
    # JWT signing secret: given directly (local, tests) or as the name of an SSM
    # SecureString parameter read on first use (cloud).
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_secret_param: str | None = None
    token_ttl_seconds: int = 3600
    cors_origin: str = "*"
    # The console origin the stack was deployed with (its bucket's CORS, API Gateway's own
    # answers); when set, CRM_CORS_ORIGIN must be the same.
    console_origin: str | None = None
    # Sign-in throttle. One address that fails this many times in the window is locked out
    # of that login name (only that address); after login_delay_after failures of a name
    # from all addresses, addresses it never signed in from wait a doubling delay (at most
    # login_delay_max_seconds); addresses it signed in from in login_known_days do not.
    login_max_failures: int = 5
    login_lock_seconds: int = 900
    login_delay_after: int = 10
    login_delay_max_seconds: int = 300
    login_known_days: int = 90
    # Messaging providers: SMS through `outbox` or `sms-voice` (AWS End User Messaging SMS),
    # e-mail through `outbox` or `ses`; the origination identity and sender they use.
    sms_provider: str = "outbox"
    email_provider: str = "outbox"
    sms_origination: str | None = None
    email_from: str | None = None
    metrics_namespace: str = "CampusCRM"
    # Files (imports, error sheets, attachments): the stack's S3 bucket in AWS; else a
    # directory, served to browsers by the local file server at `files_url`.
    bucket: str | None = None
    files_dir: str = ".local/files"
    files_url: str = "http://127.0.0.1:8002"
    # Placeholder ARN given to chalice at package time; infra/ overrides it with the table's.
    stream_arn: str = "arn:aws:dynamodb:us-east-1:000000000000:table/campus-crm/stream/placeholder"

    def api_cors_origin(self) -> str:
        """The origin browsers may call the API from. Outside the local stages it must be
        the stage's console (https://host[:port]); `*` or nothing stops the API starting."""
        if self.stage not in LOCAL_STAGES and not _ORIGIN.fullmatch(self.cors_origin):
            raise SettingsError(
                f"CRM_CORS_ORIGIN must be the console's origin (https://host[:port]) on stage {self.stage!r}, "
                f"not {self.cors_origin!r}: '*' is allowed only on the local stages (local, test)."
            )
        if self.console_origin and self.console_origin != self.cors_origin:
            raise SettingsError(
                f"CRM_CORS_ORIGIN ({self.cors_origin!r}, .chalice/config.json) and the stack's ConsoleOrigin "
                f"({self.console_origin!r}) differ: set CRM_CORS_ORIGIN to the stack's ConsoleUrl and package "
                f"again, or deploy with ConsoleOrigin={self.cors_origin} (docs/deployment.md)."
            )
        return self.cors_origin

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        mapping = {
            "stage": "CRM_STAGE",
            "table_name": "CRM_TABLE",
            "dynamodb_endpoint": "CRM_DYNAMODB_ENDPOINT",
            "region": "AWS_REGION",
            "jwt_secret": "CRM_JWT_SECRET",
            "jwt_secret_param": "CRM_JWT_SECRET_PARAM",
            "token_ttl_seconds": "CRM_TOKEN_TTL_SECONDS",
            "cors_origin": "CRM_CORS_ORIGIN",
            "console_origin": "CRM_CONSOLE_ORIGIN",
            "login_max_failures": "CRM_LOGIN_MAX_FAILURES",
            "login_lock_seconds": "CRM_LOGIN_LOCK_SECONDS",
            "login_delay_after": "CRM_LOGIN_DELAY_AFTER",
            "login_delay_max_seconds": "CRM_LOGIN_DELAY_MAX_SECONDS",
            "login_known_days": "CRM_LOGIN_KNOWN_DAYS",
            "sms_provider": "CRM_SMS_PROVIDER",
            "email_provider": "CRM_EMAIL_PROVIDER",
            "sms_origination": "CRM_SMS_ORIGINATION",
            "email_from": "CRM_EMAIL_FROM",
            "metrics_namespace": "POWERTOOLS_METRICS_NAMESPACE",
            "bucket": "CRM_BUCKET",
            "files_dir": "CRM_FILES_DIR",
            "files_url": "CRM_FILES_URL",
            "stream_arn": "CRM_STREAM_ARN",
        }
        values: dict[str, str | int] = {name: env[var] for name, var in mapping.items() if env.get(var)}
        if "region" not in values and env.get("AWS_DEFAULT_REGION"):
            values["region"] = env["AWS_DEFAULT_REGION"]
        for one in fields(cls):
            if one.type == "int" and one.name in values:
                values[one.name] = _whole_number(mapping[one.name], str(values[one.name]))
        return cls(**values)  # type: ignore[arg-type]  # each value has its field's type: str, or int above


def _whole_number(variable: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SettingsError(f"{variable} must be a whole number, not {text!r}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (tests and the console change the environment)."""
    get_settings.cache_clear()
