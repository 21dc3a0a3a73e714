"""The deployment package `make package` ships (infra/package.py): lean, compiled, and complete.

The zip is built as `make package` builds it, unpacked into a temporary directory, and a
fresh Python with only that directory and the standard library on sys.path (no venv
site-packages) imports the app, every function's handler, everything our code imports
(lazily too), and creates every AWS client the code creates: the pruning of botocore's
models and of powertools can never drop something the code needs.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import package
from infra.local.table import parse

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
# Ours but never run in Lambda: the operator's command line (click is a development dependency).
LOCAL_TOOLS = {"chalicelib/cli.py"}


def _env() -> dict[str, str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    for key in ("CRM_DYNAMODB_ENDPOINT", "CRM_TABLE", "CRM_JWT_SECRET"):
        env.pop(key, None)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """(the package directory, what `python -m infra.package` printed), as `make package` runs it."""
    out = tmp_path_factory.mktemp("package") / "prod"
    done = subprocess.run(
        [sys.executable, "-m", "infra.package", str(out)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(built[0] / "deployment.zip") as zf:
        zf.extractall(root)
    return root


def test_make_package_ships_a_zip_under_10_mb_and_prints_its_sizes(built):
    out, printed = built
    size = package.ZipSize.of(out / "deployment.zip")
    # THEN the zip is within the 10 MB goal (decimal MB)
    print(f"deployment.zip: {size.describe()}")
    assert size.zipped <= 10 * 1000 * 1000
    # AND the build says how big it is, zipped and unzipped, before and after
    assert f"{size.zipped / 1e6:.2f} MB zipped, {size.unzipped / 1e6:.2f} MB unzipped" in printed
    assert "chalice's deployment.zip:" in printed
    # AND a zip over the limit is refused (the check `make package` fails on)
    assert package.check(size, limit_mb=size.zipped / 1e6 - 0.01) is not None
    assert package.check(size) is None


def _sources(root: Path) -> dict[str, bytes]:
    files = [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]
    return {str(f.relative_to(root)): f.read_bytes() for f in files}


def test_the_zip_holds_bytecode_for_python_3_11_and_no_stubs_tests_or_unused_models(unpacked):
    names = [str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()]
    ours = [n for n in names if n.endswith(".py")]
    # THEN only our own code keeps its source (a dependency ships bytecode alone)
    assert ours and all(n == "app.py" or n.startswith("chalicelib/") for n in ours)
    # AND each of our modules has bytecode for CPython 3.11 that the runtime uses without checking
    # the source's mtime (an unchecked-hash .pyc: flags 0b01)
    for name in ours:
        path = Path(name)
        pyc = unpacked / path.parent / "__pycache__" / f"{path.stem}.cpython-311.pyc"
        header = pyc.read_bytes()[:8]
        assert header[:4] == (3495).to_bytes(2, "little") + b"\r\n", name  # 3.11's magic number
        assert int.from_bytes(header[4:8], "little") == 0b01, name
    assert any(n.startswith("botocore/") and n.endswith("client.pyc") for n in names)
    # AND no type stubs, test directories or service examples
    assert not [n for n in names if n.endswith(".pyi") or "/tests/" in n or n.endswith("examples-1.json")]
    # AND botocore's models are those of the services the code creates clients for
    services = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 3}
    assert services == package.used_services(_sources(unpacked))
    assert services == {"dynamodb", "ssm", "s3", "sesv2", "pinpoint-sms-voice-v2"}
    # AND the files botocore reads to build any client are there
    for name in ("endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json"):
        assert f"botocore/data/{name}" in names


# Run by a Python that sees only the unpacked zip and the standard library.
PROBE = r"""
import importlib, json, sys
root, spec = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, root)
assert not [p for p in sys.path if "site-packages" in p], sys.path
import app
for handler in spec["handlers"]:
    module, _, attr = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attr)), handler
for module in spec["modules"]:
    importlib.import_module(module)
import boto3, botocore
assert botocore.__file__.startswith(root) and botocore.__file__.endswith(".pyc"), botocore.__file__
# every client, as the code creates it
from chalicelib.db.base import BaseItem
from chalicelib.messaging.ses import SesProvider
from chalicelib.messaging.sms_voice import SmsVoiceProvider
from chalicelib.storage import S3Storage
made = {
    "dynamodb": BaseItem._get_connection().connection.client,
    "s3": S3Storage("files", "us-east-1").client,
    "sesv2": SesProvider(sender=None, region="us-east-1").client,
    "pinpoint-sms-voice-v2": SmsVoiceProvider(origination=None, region="us-east-1").client,
}
for service in spec["services"]:
    made.setdefault(service, boto3.client(service, region_name="us-east-1"))
print(json.dumps(sorted(made)))
"""


def _imported_modules(sources: dict[str, bytes]) -> list[str]:
    """Every module our code imports (at any depth: lazy imports too), except our own."""
    found: set[str] = set()
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text, filename=path)):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return sorted(m for m in found if m.split(".")[0] not in ("app", "chalicelib", "__future__"))


def test_the_unpacked_zip_alone_imports_every_handler_and_creates_every_client_the_code_creates(built, unpacked):
    # GIVEN every function's handler in the template and what our code imports
    template = parse((built[0] / "sam.yaml").read_text(encoding="utf-8"))
    handlers = sorted(
        r["Properties"]["Handler"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    )
    sources = {path: text for path, text in _sources(unpacked).items() if path not in LOCAL_TOOLS}
    ours = sorted(p.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for p in sources if p != "app.py")
    spec = {
        "handlers": handlers,
        "modules": ours + _imported_modules(sources),
        "services": sorted(package.used_services(sources)),
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "CRM_STAGE": "prod",
        "CRM_CORS_ORIGIN": "https://crm.example.edu",
        "CRM_TABLE": "campus-crm-prod",
        "CRM_JWT_SECRET_PARAM": "/campus-crm/jwt-secret",
        "AWS_DEFAULT_REGION": REGION,
        # what Lambda gives a function; no client creation here reads IMDS or calls AWS
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "campus-crm",
        "POWERTOOLS_METRICS_NAMESPACE": "CampusCRM",
    }
    # WHEN a Python with only the unpacked zip and the standard library on its path loads them
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(unpacked), json.dumps(spec)],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # THEN every handler, module and client is there
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout.splitlines()[-1]) == spec["services"]
    assert len(handlers) >= 10


def test_a_client_whose_service_is_not_a_literal_stops_the_build():
    # GIVEN code naming its client's service in a variable, and code naming it literally
    named = b"import boto3\nc = boto3.client('sqs')\ns = boto3.session.Session().client(service_name='sns')\n"
    computed = b"import boto3\nname = 'sqs'\nc = boto3.client(name)\n"
    # THEN the literal names are found (plus pynamodb's dynamodb), and a computed one stops the build
    assert package.used_services({"chalicelib/x.py": named}) == {"sqs", "sns", "dynamodb"}
    with pytest.raises(package.PackageError, match="not a string literal"):
        package.used_services({"chalicelib/y.py": computed})
