"""The house rules that keep the layout readable, as tests that fail when broken."""

from __future__ import annotations

import ast
import subprocess

from tests.conftest import PROJECT_ROOT


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_services_never_import_streamlit():
    offenders = [
        str(p.relative_to(PROJECT_ROOT))
        for p in (PROJECT_ROOT / "services").rglob("*.py")
        if "streamlit" in imported_modules(p)
    ]
    assert offenders == []


def test_the_shipped_function_depends_on_nothing_but_the_lambda_runtime():
    allowed = {
        "__future__",
        "json",
        "logging",
        "os",
        "uuid",
        "collections",
        "dataclasses",
        "typing",
        "boto3",
        "botocore",
    }
    assert imported_modules(PROJECT_ROOT / "presign_function" / "lambda_function.py") <= allowed


def test_no_real_secrets_file_is_tracked():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert ".streamlit/secrets.toml" not in tracked
    assert ".streamlit/secrets.toml.example" in tracked


def builds_boto3_clients(path) -> bool:
    """A call such as boto3.client(...), boto3.resource(...) or boto3.session.Session(...)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            dotted = ast.unparse(node.func)
            if dotted.startswith("boto3.") or dotted in ("Session", "client"):
                return True
    return False


def test_aws_clients_come_from_the_one_factory():
    # the sandbox plays AWS itself (its own identities and endpoints); everything else uses services.core.clients
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "services").rglob("*.py")
        if path.name != "clients.py" and "sandbox" not in path.parts and builds_boto3_clients(path)
    ]
    assert offenders == []


def imported_dotted(path) -> set[str]:
    """Every module a file imports, in full (``services.sandbox.layout``), at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for path in (PROJECT_ROOT / "services" / package).rglob("*.py")
        for name in imported_dotted(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def test_the_checks_never_import_the_sandbox():
    # the checks judge any pipeline; the sandbox is one pipeline, reached over HTTP like any other
    assert offenders("checks", ("services.sandbox",)) == []


def test_the_aws_model_imports_nothing_of_ours():
    # pure AWS semantics: stdlib and third-party only, so the checks and the sandbox can share one reading of AWS
    ours = ("services", "pages", "dashboard", "presign_function", "tests")
    found = [
        entry for entry in offenders("aws_model", ours) if not entry.split(": ", 1)[1].startswith("services.aws_model")
    ]
    assert found == []


def test_core_imports_neither_checks_pipeline_nor_sandbox():
    forbidden = ("services.checks", "services.pipeline", "services.sandbox", "services.views", "services.cli")
    assert offenders("core", forbidden) == []
