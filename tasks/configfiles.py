"""Where newslake's config files are, and which one each setting came from.

The defaults ship inside the package (`config/` in the repository, `newslake/config/` in the
wheel), so an installed newslake runs anywhere. A user's own files override them setting by
setting, and the later of these wins:

    the shipped defaults
    the per-user folder       $XDG_CONFIG_HOME/newslake (else ~/.config/newslake), if it exists
    NEWSLAKE_CONFIG           a folder named in the environment (it must exist)
    --config DIR              the command line (passed on to worker processes in the environment)

A file in a later folder need hold only the settings it changes. NEWSLAKE_<SECTION>_<NAME>
variables override every file (tasks/settings.py); `newslake config` prints each setting with
where its value came from.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from newslake.tasks.errors import ConfigError

__all__ = ["DEFAULTS", "OPTION_VARIABLE", "config_dirs", "config_file", "merged_toml"]

DEFAULTS = Path(__file__).resolve().parents[1] / "config"
# Set by the command's --config so that its worker processes read the same folder.
OPTION_VARIABLE = "NEWSLAKE_CONFIG_OPTION"


def _user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "newslake"


def config_dirs() -> list[tuple[Path, str]]:
    """The config folders in force, lowest priority first, each with how it was named."""
    dirs = [(DEFAULTS, "defaults")]
    if _user_dir().is_dir():
        dirs.append((_user_dir(), "per-user"))
    for variable, label in (("NEWSLAKE_CONFIG", "NEWSLAKE_CONFIG"), (OPTION_VARIABLE, "--config")):
        if os.environ.get(variable):
            folder = Path(os.environ[variable])
            if not folder.is_dir():
                msg = f"config directory {folder} ({label}) does not exist"
                raise ConfigError(msg)
            dirs.append((folder, label))
    return dirs


def config_file(name: str) -> Path:
    """The file `name` of the highest-priority folder that has one (else the default's path):
    for files read whole, like schedules.toml and sources.toml."""
    for folder, _ in reversed(config_dirs()):
        if (folder / name).is_file():
            return folder / name
    return DEFAULTS / name


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from exc


def _overlay(
    into: dict[str, Any], table: dict[str, Any], origin: str, origins: dict[str, str], prefix: str
) -> None:
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _overlay(into[key], value, origin, origins, f"{dotted}.")
        else:
            into[key] = value
            origins[dotted] = origin
            if isinstance(value, dict):
                origins.update({f"{dotted}.{k}": origin for k in value})


def merged_toml(name: str, dirs: list[tuple[Path, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The file `name` from each folder, overlaid in order (later wins per setting), and the
    file each setting's value came from, by dotted key."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for folder, _ in dirs:
        path = folder / name
        if path.is_file():
            _overlay(merged, _read(path), str(path), origins, "")
    return merged, origins
