"""The domain layer imports without a database driver, a broker client or a web framework.

Each import runs in a fresh interpreter, so what other tests already loaded cannot hide a leak.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

INFRASTRUCTURE = {
    "psycopg",
    "psycopg_pool",
    "redis",
    "pika",
    "cryptography",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic_settings",
    "prometheus_client",
    "uvicorn",
}


def run_python(code: str) -> str:
    """The output of ``code`` run by a fresh interpreter that finds this tree's source first."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SRC), environment.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=True,
    )
    return result.stdout


def packages_loaded_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``module``."""
    output = run_python(f"import {module}; import sys; print(sorted(sys.modules))")
    loaded: list[str] = ast.literal_eval(output.strip())
    assert module in loaded
    return {name.partition(".")[0] for name in loaded}


@pytest.mark.parametrize(
    "module", ["chronicle.chat.domain", "chronicle.events", "chronicle.aggregate"]
)
def test_importing_the_domain_loads_no_driver_broker_client_or_web_framework(module: str) -> None:
    assert packages_loaded_by(module) & INFRASTRUCTURE == set()


def test_the_check_sees_a_driver_that_is_imported() -> None:
    assert "psycopg" in packages_loaded_by("psycopg")


def test_the_fresh_interpreter_imports_this_tree_not_an_installed_copy() -> None:
    location = Path(run_python("import chronicle; print(chronicle.__file__)").strip())
    assert location.is_relative_to(SRC)


def test_open_store_is_still_importable_from_the_package() -> None:
    output = run_python(
        "from chronicle import open_store; import chronicle, sys; "
        "print(open_store is chronicle.open_store, 'chronicle.bootstrap' in sys.modules, "
        "set(chronicle.__all__) <= set(dir(chronicle)))"
    )
    assert output.split() == ["True", "True", "True"]


def test_the_publishing_package_loads_no_broker_client_until_a_consumer_is_asked_for() -> None:
    output = run_python(
        "import sys, chronicle.publishing as p; brokers = {'pika', 'redis'}; "
        "print(','.join(sorted(brokers & set(sys.modules)))); "
        "names = [getattr(p, name) for name in p.__all__]; "
        "print(','.join(sorted(brokers & set(sys.modules))))"
    )
    assert output.splitlines() == ["", "pika,redis"]


def test_reading_the_settings_loads_no_cryptography() -> None:
    assert "cryptography" not in packages_loaded_by("chronicle.config")
