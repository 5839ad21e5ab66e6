"""`python -m newslake`: the `newslake` command."""

from newslake.flows.cli import app

app(prog_name="newslake")
