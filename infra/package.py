"""`python -m infra.package [--stage prod] OUT`: the deployment package `make package` ships.

It runs `chalice package --stage <stage> --merge-template infra/table.yml OUT`, then rewrites
OUT/deployment.zip into a lean one (the template, OUT/sam.yaml, is chalice's, untouched):

- botocore's service models only for the services the code creates clients for, found in the
  zip's own app.py and chalicelib/ (every `boto3.client("x")`, `.resource("x")`,
  `create_client("x")`; a name that is not a string literal stops the build) plus dynamodb
  (pynamodb's connection); every file directly in botocore/data (endpoints.json,
  partitions.json, sdk-default-configuration.json, _retry.json: botocore reads them to build
  any client) is kept; boto3's resource models likewise;
- aws_lambda_powertools only in the directories our imports reach through its own imports
  (its logger, metrics, batch processor and what they import); no swagger UI bundle, no
  pydantic.v1 (DROPPED_TREES says why);
- no service examples (examples-1.json, boto3/examples), type stubs (*.pyi, py.typed),
  test directories, C sources, dist-info RECORD/INSTALLER/REQUESTED files or *.data scripts;
  METADATA, entry points and licences stay;
- every .py is kept and compiled beside it to __pycache__/<name>.cpython-311.pyc, with
  `unchecked-hash` invalidation: Lambda's Python 3.11 loads the .pyc without comparing it
  to the source's mtime (the zip's timestamps would not match, and /var/task is read-only,
  so a timestamp .pyc could be recompiled, in memory, on every cold start). The .py stays so
  tracebacks show source lines; code objects name /var/task/<path>, where Lambda unpacks.

It prints the zip's size and its unzipped size, before and after, and exits 1 when the zip
is over the limit (10 MB, decimal, by default).
"""

from __future__ import annotations

import argparse
import ast
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 10.0
MB = 1_000_000  # decimal megabytes: the stricter reading of "10 MB"
RUNTIME = (3, 11)  # the Lambda runtime's Python (python3.11): the .pyc are for it only
TASK_ROOT = "/var/task"  # where Lambda unpacks the zip
FIRST_PARTY = ("app.py", "chalicelib/")
SOURCE_KEPT = FIRST_PARTY  # our code keeps its .py (tracebacks show the line); a dependency ships its .pyc only
# Clients the code creates through a dependency rather than by name in our code.
IMPLIED_SERVICES = {"dynamodb": "pynamodb's connection (chalicelib/db)"}
CLIENT_CALLS = {"client", "resource", "create_client"}
DROPPED_SUFFIXES = (".pyi", "/py.typed", ".c", ".pyc")
DROPPED_DIST_FILES = {"RECORD", "INSTALLER", "REQUESTED"}
TEST_DIRS = {"tests", "test"}
# Dependencies shipped only in the directories our code's imports reach (statically, through
# their own imports): powertools is a toolbox of which we use the logger, metrics and the
# stream batch processor, not its API framework (event_handler), parser, idempotency...
TRIMMED = ("aws_lambda_powertools",)
# Never read by our code's paths: swagger UI's bundle is served only by powertools' own API
# framework (we use chalice's); pydantic.v1, the v1 copy, is imported by pydantic only for a
# type with `__get_validators__` (v1 style), which none of ours is.
DROPPED_TREES = (
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui",
    "pydantic/v1/",
)


class PackageError(Exception):
    pass


@dataclass(frozen=True)
class ZipSize:
    zipped: int
    unzipped: int
    files: int

    @classmethod
    def of(cls, path: Path) -> ZipSize:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
        return cls(path.stat().st_size, sum(i.file_size for i in infos), len(infos))

    def describe(self) -> str:
        return f"{self.zipped / MB:.2f} MB zipped, {self.unzipped / MB:.2f} MB unzipped, {self.files:,} files"


def used_services(sources: dict[str, bytes]) -> set[str]:
    """The AWS services the first-party sources (path -> text) create clients for, plus the implied ones."""
    found = set(IMPLIED_SERVICES)
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text, filename=path)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in CLIENT_CALLS or not _looks_like_aws(node.func.value):
                continue
            first = (
                node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "service_name"), None)
            )
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                raise PackageError(
                    f"{path}:{node.lineno}: a client's service is not a string literal, so the package "
                    "cannot tell which botocore model to keep; name the service literally"
                )
            found.add(first.value)
    return found


def _looks_like_aws(value: ast.expr) -> bool:
    """`boto3.client`, `session.client`, `boto3.session.Session().client`, `botocore_session.create_client`..."""
    text = ast.unparse(value).lower()
    return "boto" in text or "session" in text


def _imports(module: str, is_package: bool, text: bytes, path: str) -> set[str]:
    """The dotted names a module's import statements (at any depth) name, each `from` name included."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(text, filename=path)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def reached_dirs(top: str, files: dict[str, bytes], first_party: dict[str, bytes]) -> set[str]:
    """The directories of package `top` (zip paths) that the first-party imports reach, following `top`'s own
    imports. A directory whose code imports by computed name (importlib.import_module) keeps its whole tree."""
    modules: dict[str, tuple[str, bool]] = {}  # dotted name -> (zip path, is a package)
    for name in files:
        if name.startswith(f"{top}/") and name.endswith(".py"):
            dotted = name[: -len(".py")].replace("/", ".")
            is_package = dotted.endswith(".__init__")
            modules[dotted.removesuffix(".__init__")] = (name, is_package)
    wanted: list[str] = []
    for path, text in first_party.items():
        wanted += [n for n in _imports("", False, text, path) if n == top or n.startswith(f"{top}.")]
    seen: set[str] = set()
    dirs: set[str] = set()
    trees: set[str] = set()
    while wanted:
        name = wanted.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            dotted = ".".join(parts[:i])
            if dotted in seen or dotted not in modules:
                continue
            seen.add(dotted)
            path, is_package = modules[dotted]
            directory = str(PurePosixPath(path).parent)
            dirs.add(directory)
            text = files[path]
            if b"import_module" in text:
                trees.add(directory)
            wanted += [n for n in _imports(dotted, is_package, text, path) if n.startswith(f"{top}.")]
    for tree in trees:
        dirs.update(str(PurePosixPath(n).parent) for n in files if n.startswith(f"{tree}/"))
    return dirs


def _first_party(name: str) -> bool:
    return name.startswith(FIRST_PARTY) and name.endswith(".py")


def keep(name: str, services: set[str], reached: set[str] | None = None) -> bool:
    """Whether a zip member ships in the lean package (`reached`: the directories of TRIMMED packages kept)."""
    path = PurePosixPath(name)
    parts = path.parts
    if name.endswith(DROPPED_SUFFIXES) or name.startswith(DROPPED_TREES) or "__pycache__" in parts:
        return False
    if reached is not None and parts[0] in TRIMMED and len(parts) > 1:
        return str(path.parent) in reached
    top = parts[0]
    if top.endswith(".data"):  # a wheel's scripts (jmespath's jp.py), never imported
        return False
    if top.endswith(".dist-info"):
        return path.name not in DROPPED_DIST_FILES
    if any(p in TEST_DIRS for p in parts[1:-1]):
        return False
    if parts[:2] == ("botocore", "data") and len(parts) > 3:
        return parts[2] in services and path.name != "examples-1.json"
    if parts[:2] == ("boto3", "data") and len(parts) > 3:
        return parts[2] in services
    return parts[:2] != ("boto3", "examples")


def slim(src: Path, dst: Path) -> set[str]:
    """Writes the lean copy of chalice's zip `src` to `dst`; returns the services kept."""
    if sys.version_info[:2] != RUNTIME:
        raise PackageError(f"the .pyc must be compiled by Python {RUNTIME[0]}.{RUNTIME[1]}, not {sys.version}")
    with zipfile.ZipFile(src) as zin, tempfile.TemporaryDirectory(prefix="crm-package-") as tmp:
        infos = [i for i in zin.infolist() if not i.is_dir()]
        sources = {i.filename: zin.read(i) for i in infos if _first_party(i.filename)}
        if "app.py" not in sources:
            raise PackageError(f"{src} has no app.py: not a chalice deployment package")
        services = used_services(sources)
        code = {i.filename: zin.read(i) for i in infos if i.filename.startswith(TRIMMED) and i.filename.endswith(".py")}
        reached = {d for top in TRIMMED for d in reached_dirs(top, code, sources)}
        kept = [i for i in infos if keep(i.filename, services, reached)]
        missing = {s for s in services if not any(i.filename.startswith(f"botocore/data/{s}/") for i in kept)}
        if missing:
            raise PackageError(f"botocore has no model for {sorted(missing)}: check the service names")
        root = Path(tmp)
        for info in kept:
            target = root / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zin.read(info))
        members = _compile(root, kept)
        _write_zip(dst, root, members)
    return services


def _compiled_name(name: str) -> str:
    """Where a .py's bytecode goes: beside our own source in __pycache__, in place of a dependency's."""
    path = PurePosixPath(name)
    if name.startswith(SOURCE_KEPT):
        return str(path.parent / "__pycache__" / f"{path.stem}.{sys.implementation.cache_tag}.pyc").removeprefix("./")
    return name + "c"


def _compile(root: Path, kept: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, str]]:
    """Compiles each kept .py; returns (chalice's entry, the member written) in chalice's order."""
    members: list[tuple[zipfile.ZipInfo, str]] = []
    for info in kept:
        name = info.filename
        if not name.endswith(".py"):
            members.append((info, name))
            continue
        compiled = _compiled_name(name)
        try:
            py_compile.compile(
                str(root / name),
                cfile=str(root / compiled),
                dfile=f"{TASK_ROOT}/{name}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError as exc:
            raise PackageError(f"{name} does not compile for Python 3.11: {exc.msg}") from exc
        if name.startswith(SOURCE_KEPT):
            members.append((info, name))
        members.append((info, compiled))
    return members


def _write_zip(dst: Path, root: Path, members: list[tuple[zipfile.ZipInfo, str]]) -> None:
    """The members, with the timestamps and modes of chalice's entries they come from."""
    tmp_dst = dst.with_suffix(".tmp")
    with zipfile.ZipFile(tmp_dst, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info, name in members:
            member = zipfile.ZipInfo(name, info.date_time)
            member.external_attr = info.external_attr if name == info.filename else 0o100644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(member, (root / name).read_bytes(), compresslevel=9)
    os.replace(tmp_dst, dst)


def chalice_package(out: Path, stage: str, merge_template: str = "infra/table.yml") -> None:
    chalice = Path(sys.executable).with_name("chalice")
    env = dict(os.environ)
    # chalice insists on a region even though packaging contacts no AWS service.
    if not env.get("AWS_DEFAULT_REGION") and not env.get("AWS_REGION"):
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    command = [str(chalice), "package", "--stage", stage, "--merge-template", merge_template, str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if done.returncode != 0:
        raise PackageError(f"`{' '.join(command[1:])}` failed (exit {done.returncode})")


def build(out: Path, stage: str = "prod") -> tuple[ZipSize, ZipSize, set[str]]:
    """chalice's package into `out`, its zip made lean in place: (chalice's size, the lean size, services)."""
    chalice_package(out, stage)
    zip_path = out / "deployment.zip"
    before = ZipSize.of(zip_path)
    services = slim(zip_path, zip_path)
    return before, ZipSize.of(zip_path), services


def check(size: ZipSize, limit_mb: float = LIMIT_MB) -> str | None:
    """Why the package is refused, or None."""
    if size.zipped > limit_mb * MB:
        return f"deployment.zip is {size.zipped / MB:.2f} MB, over the {limit_mb:g} MB limit"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="the directory chalice writes sam.yaml and deployment.zip to")
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--limit-mb", type=float, default=LIMIT_MB, help="fail above this zipped size (decimal MB)")
    args = parser.parse_args(argv)
    try:
        before, after, services = build(args.out, args.stage)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    print(f"botocore models kept: {', '.join(sorted(services))}")
    print(f"chalice's deployment.zip: {before.describe()}")
    print(f"{args.out / 'deployment.zip'}: {after.describe()} (limit {args.limit_mb:g} MB zipped)")
    refused = check(after, args.limit_mb)
    if refused:
        print(f"package: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
