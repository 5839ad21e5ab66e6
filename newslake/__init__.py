"""newslake: raw news pages in, clean, linked, queryable Parquet tables out.

Everything newslake imports lives under this one package — `newslake.flows` (the Prefect flows
and the `newslake` command) and `newslake.tasks` (one step each) — so an installed newslake
never shadows the `flows` or `tasks` folders of a user's own Prefect project. The repository
keeps `flows/`, `tasks/` and `config/` at its top level; here they are symbolic links, and the
wheel maps them under `newslake/` (pyproject.toml, `[tool.hatch.build.targets.wheel]`).
"""

from importlib.metadata import version

__version__ = version("newslake")
