"""`make fuzz`: schemathesis against the running local stack, signed in as an admin.

Start `make run` in another terminal first. The first run signs in with the demo
credentials `make run` saved (or CRM_FUZZ_TENANT / CRM_FUZZ_USERNAME / CRM_FUZZ_PASSWORD)
and makes a second admin, `fuzz.admin`, saved in .local/fuzz-credentials.json: the fuzzer
works as that one, so what it does to sign-ins (it tries the demo admin's name with wrong
passwords, which locks that name from this address for 15 minutes) cannot stop the next
run. Then it runs

    schemathesis run http://127.0.0.1:8000/openapi.json --checks all -H "Authorization: Bearer ..."

for CRM_FUZZ_SECONDS (300 by default). Any 5xx or response outside the schema fails the run.
Extra arguments after `--` go to schemathesis (e.g. `make fuzz ARGS="--include-path /leads"`).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _credentials() -> dict[str, str]:
    saved = ROOT / ".local" / "demo-credentials.json"
    data: dict[str, str] = json.loads(saved.read_text()) if saved.exists() else {}
    for key in ("tenant", "username", "password"):
        data[key] = os.environ.get(f"CRM_FUZZ_{key.upper()}", data.get(key, ""))
    data["api"] = os.environ.get("CRM_FUZZ_API", data.get("api") or "http://127.0.0.1:8000")
    if not data["password"]:
        sys.exit("make fuzz: no demo credentials; run `make run` first (or set CRM_FUZZ_PASSWORD)")
    return data


def _token(creds: dict[str, str]) -> str:
    body = json.dumps({k: creds[k] for k in ("tenant", "username", "password")}).encode()
    request = urllib.request.Request(  # noqa: S310 - the local stack
        f"{creds['api']}/auth/login", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local stack
        return json.loads(response.read())["token"]


def _call(api: str, method: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(  # noqa: S310 - the local stack
        f"{api}{path}", data=json.dumps(body).encode(), headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local stack
        return json.loads(response.read())


def _fuzz_admin(creds: dict[str, str]) -> dict[str, str]:
    """The fuzzer's own admin, made once with the demo admin's token."""
    saved = ROOT / ".local" / "fuzz-credentials.json"
    if saved.exists():
        return json.loads(saved.read_text())
    admin = _call(creds["api"], "POST", "/auth/login", {k: creds[k] for k in ("tenant", "username", "password")})
    fuzzer = {"api": creds["api"], "tenant": creds["tenant"], "username": "fuzz.admin"}
    fuzzer["password"] = secrets.token_urlsafe(16)
    body = {"username": fuzzer["username"], "password": fuzzer["password"], "display_name": "Fuzzer", "role": "admin"}
    _call(creds["api"], "POST", "/users", body, admin["token"])
    saved.write_text(json.dumps(fuzzer))
    saved.chmod(0o600)
    return fuzzer


def main(argv: list[str]) -> int:
    creds = _fuzz_admin(_credentials())
    token = _token(creds)
    seconds = os.environ.get("CRM_FUZZ_SECONDS", "300")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{creds['api']}/openapi.json",
        "--checks",
        "all",
        "--max-time",
        seconds,
        "--workers",
        "2",
        "-H",
        f"Authorization: Bearer {token}",
        *argv,
    ]
    shown = [c if not c.startswith("Authorization") else "Authorization: Bearer …" for c in command]
    print("make fuzz:", shlex.join(shown), flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
