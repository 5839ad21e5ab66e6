"""The wheel is the product: built, installed into a fresh venv outside the repository, and run
from an empty folder as a user who typed `pip install newslake` would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newslake.tasks.lake.query import run_query
from tests.conftest import ROOT, corpus

UV = Path(sys.executable).parent / "uv"


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the wheel and the locked dependencies (uv's
    cache makes this seconds, not a download); its bin/ folder."""
    work = tmp_path_factory.mktemp("install")
    _run(UV, "build", "--wheel", "-q", "-o", work / "dist", cwd=ROOT)
    requirements = work / "requirements.txt"
    _run(UV, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-q",
         "-o", requirements, cwd=ROOT)  # fmt: skip
    _run(UV, "venv", "-q", "--python", sys.executable, work / "venv", cwd=work)
    [wheel] = (work / "dist").glob("newslake-*.whl")
    _run(UV, "pip", "install", "-q", "--python", work / "venv" / "bin" / "python",
         "--compile-bytecode", "-r", requirements, wheel, cwd=work)  # fmt: skip
    return work / "venv" / "bin"


def _user_env(home: Path) -> dict[str, str]:
    """The environment of a user outside the checkout: no Prefect API, nothing of the repo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "NEWSLAKE"))}
    env.pop("PYTHONPATH", None)
    env.pop("XDG_CONFIG_HOME", None)
    return env | {"PREFECT_HOME": str(home / "prefect"), "HOME": str(home)}


@pytest.mark.slow
def test_the_installed_wheel_ingests_the_seed_page_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    seed = corpus("seed", "kharkiv-offensive.html")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _user_env(tmp_path)
    _run(installed / "newslake", "ingest", seed, "--lake", "lake", cwd=empty, env=env)
    lake = empty / "lake"
    assert run_query(lake, "select count(*) from articles").item() == 1
    assert run_query(lake, "select count(*) from entities").item() > 0
    assert run_query(lake, "select count(*) from quotes where speaker_name is not null").item() > 0


@pytest.mark.slow
def test_the_installed_package_has_one_namespace_and_its_own_defaults(
    installed: Path, tmp_path: Path
) -> None:
    env = _user_env(tmp_path)
    python = installed / "python"
    version = _run(python, "-m", "newslake", "--version", cwd=tmp_path, env=env)
    assert version.split() == ["newslake", "0.1.0"]
    # Nothing of newslake's is importable as `flows` or `tasks`: a user's own project keeps them.
    probe = "import importlib.util as u; print(u.find_spec('flows'), u.find_spec('tasks'))"
    assert _run(python, "-c", probe, cwd=tmp_path, env=env).split() == ["None", "None"]
    shown = _run(installed / "newslake", "config", cwd=tmp_path, env=env)
    assert "site-packages/newslake/config" in shown.replace("\n", "")
    # A per-user folder overrides one setting, and `config` says where it came from.
    user = tmp_path / ".config" / "newslake"
    user.mkdir(parents=True)
    (user / "newslake.toml").write_text("[run]\nworkers = 3\n")
    shown = _run(installed / "newslake", "config", cwd=tmp_path, env=env)
    [line] = [line for line in shown.splitlines() if line.strip().startswith("run.workers")]
    assert "3" in line
    assert ".config/newslake" in shown.replace("\n", "")
    # Bytecode was compiled at install: no process pays for compiling newslake's modules.
    site = next((installed.parent / "lib").glob("python3.*/site-packages"))
    assert list((site / "newslake" / "tasks" / "lake" / "__pycache__").glob("*.pyc"))
