"""newslake's steps: each module does one step of the pipeline (load, decode, extract, write)."""
