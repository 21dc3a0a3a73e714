"""(b) Warm latency of routes through the Chalice handler, as ratios to a bare GetItem."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from bench import stats
from bench.context import Context
from bench.registry import Column, Result, Table, section

GETITEM = "GetItem (bare boto3)"
SCRYPT = "hashlib.scrypt"


def scrypt_call() -> tuple[str, Callable[[], object]]:
    """A bare scrypt with the parameters the app stores with each hash (read from a fresh hash)."""
    from chalicelib.domain import passwords

    scheme, n, r, p, salt, digest = passwords.hash_password("bench-password").split("$")
    assert scheme == "scrypt"
    params = {"n": int(n), "r": int(r), "p": int(p), "dklen": len(base64.b64decode(digest))}
    salt_bytes = secrets.token_bytes(16)

    def run() -> bytes:
        return hashlib.scrypt(b"bench-password", salt=salt_bytes, maxmem=64 * 1024 * 1024, **params)

    return f"{SCRYPT} n={params['n']} r={params['r']} p={params['p']}", run


def route_calls(ctx: Context) -> dict[str, Callable[[], object]]:
    """The routes measured here (also costed by the capacity section), by label."""
    stack = ctx.stack()
    users_path = "/users?limit=50"
    return {
        "POST /auth/login": lambda: stack.login(),
        "GET /me": lambda: stack.call("GET", "/me"),
        f"GET {users_path} ({stack.staff + 1} users)": lambda: stack.call("GET", users_path),
    }


@section("warm_latency", "(b) Warm latency through the Chalice handler vs a bare GetItem", order=20)
def warm_latency(ctx: Context) -> Result:
    stack = ctx.stack()
    key = stack.tenant_key()
    table = stack.table["TableName"]

    def get_item() -> Any:
        return stack.ddb.get_item(TableName=table, Key=key)

    if "Item" not in get_item():
        raise RuntimeError("the baseline GetItem found no item")
    scrypt_label, scrypt = scrypt_call()
    routes = route_calls(ctx)
    ops: dict[str, Callable[[], object]] = {GETITEM: get_item, scrypt_label: scrypt, **routes}
    opts = ctx.options
    printed: list[str] = []
    with stack.quiet(printed):
        samples = stats.interleaved(ops, iterations=opts.iterations, warmup=opts.warmup)
    summaries = {name: stats.summary(s) for name, s in samples.items()}
    base, hashing = summaries[GETITEM], summaries[scrypt_label]

    def row(name: str, against: str, baseline: dict[str, float]) -> dict[str, Any]:
        s = summaries[name]
        return {
            "figure": name,
            "p50_ms": s["p50_ms"],
            "p95_ms": s["p95_ms"],
            "p50_ratio": stats.ratio(s["p50_ms"], baseline["p50_ms"]),
            "p95_ratio": stats.ratio(s["p95_ms"], baseline["p95_ms"]),
            "vs": against,
        }

    login = next(name for name in routes if name.startswith("POST /auth/login"))
    rows = [row(GETITEM, "(baseline)", base), row(scrypt_label, "GetItem", base)]
    for name in routes:
        rows.append(row(name, "GetItem", base))
        if name == login:
            rows.append(row(name, "scrypt", hashing))
    excess = summaries[login]["p50_ms"] - hashing["p50_ms"]
    result = Result(
        tables=[
            Table(
                f"{opts.iterations} calls each after {opts.warmup} warm-up calls, interleaved in blocks of 10;"
                " DynamoDB Local in memory",
                [
                    Column("figure", "figure"),
                    Column("p50_ms", "p50 ms", "{:.2f}"),
                    Column("p95_ms", "p95 ms", "{:.2f}"),
                    Column("p50_ratio", "p50 ratio", "{:.2f}"),
                    Column("p95_ratio", "p95 ratio", "{:.2f}"),
                    Column("vs", "vs"),
                ],
                rows,
            )
        ],
        details={"summaries": summaries, "iterations": opts.iterations, "warmup": opts.warmup},
    )
    result.notes.append(
        f"login beyond its one scrypt: {excess:.2f} ms at p50 = {stats.ratio(excess, base['p50_ms']):.2f}x"
        " a bare GetItem (difference of medians; its DynamoDB calls are in the capacity section)."
    )
    result.notes += printed
    result.notes.append(
        "Routes run in-process through chalice.test.Client (which copies os.environ per request); "
        "the GetItem baseline uses its own plain boto3 client on the same endpoint and table."
    )
    return result
