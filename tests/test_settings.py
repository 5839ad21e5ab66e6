"""Settings: the file, then the environment, then the command line; bad settings are errors that
belong to the run that reads them, not to an import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newslake.flows.ingest import ingest
from newslake.tasks.errors import ConfigError
from newslake.tasks.settings import load_settings
from newslake.tasks.web.sources import load_sources
from tests.conftest import ROOT, Cli


def _config(tmp_path: Path, **lines: str) -> Path:
    """A copy of config/ with some of newslake.toml's lines replaced (old line → new line)."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    main = config / "newslake.toml"
    text = main.read_text()
    for old, new in lines.items():
        assert old in text, old
        text = text.replace(old, new)
    main.write_text(text)
    return config


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(
        tmp_path, **{"workers = 0": "workers = 3", "batch_pages = 64": "batch_pages = 7"}
    )
    monkeypatch.delenv("NEWSLAKE_RUN_WORKERS", raising=False)
    assert load_settings(config).run.workers == 3
    monkeypatch.setenv("NEWSLAKE_RUN_WORKERS", "5")
    settings = load_settings(config)
    assert (settings.run.workers, settings.run.batch_pages) == (5, 7)
    monkeypatch.setenv("NEWSLAKE_RUN_WORKERS", "five")
    with pytest.raises(ConfigError, match="run.workers"):
        load_settings(config)


def test_the_flag_overrides_the_environment_and_the_file(tmp_path: Path, cli: Cli) -> None:
    """`newslake runs` names the lake it looked for: the file's, the environment's or the flag's."""
    config = _config(tmp_path, **{'root = "data/lake"': 'root = "/from/file"'})
    cli.extra["NEWSLAKE_CONFIG"] = str(config)
    assert "/from/file" in cli("runs").stdout
    cli.extra["NEWSLAKE_LAKE_ROOT"] = "/from/env"
    assert "/from/env" in cli("runs").stdout
    flagged = cli("runs", "--lake", "/from/flag")
    assert flagged.returncode == 1
    assert "/from/flag" in flagged.stdout


def test_a_config_directory_that_does_not_exist_is_an_error(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLAKE_CONFIG", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
    cli.extra["NEWSLAKE_CONFIG"] = str(tmp_path / "nowhere")
    result = cli("runs")
    assert result.returncode == 1
    assert "does not exist" in result.stdout


def test_flows_import_with_a_bad_setting_and_the_run_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> None:
    imported = subprocess.run(
        [sys.executable, "-c", "import flows.ingest, flows.backfill, flows.reprocess, flows.serve"],
        env={"NEWSLAKE_RUN_RUNNER": "carrier-pigeon", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    monkeypatch.setenv("NEWSLAKE_RUN_RUNNER", "carrier-pigeon")
    empty = tmp_path / "pages"
    empty.mkdir()
    with pytest.raises(ConfigError, match="carrier-pigeon"):
        ingest(inputs=[str(empty)], lake=str(tmp_path / "lake"))


@pytest.mark.parametrize(
    ("outlet", "message"),
    [
        ('name = "a"\nfeeds = "https://a.example/feed"\nevery = 3', "unknown key"),
        ('name = "a"\nfeeds = [1, 2]', "feeds must be a list of strings"),
        ('name = "a"\nurls = ["https://a.example/"]\ninclude = ["(unclosed"]', "bad pattern"),
    ],
)
def test_bad_outlets_are_refused(tmp_path: Path, outlet: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(f"[[outlet]]\n{outlet}\n")
    with pytest.raises(ConfigError, match=message):
        load_sources(path)


def test_a_sources_file_needs_an_outlet(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="defines no"):
        load_sources(path)
    with pytest.raises(ConfigError, match="not found"):
        load_sources(tmp_path / "missing.toml")
    assert [o.name for o in load_sources(ROOT / "config" / "sources.toml")] == ["example-news"]
