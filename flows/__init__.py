"""newslake's Prefect flows: they compose the steps in `tasks/` into jobs users run."""
