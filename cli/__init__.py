"""The `dstack` command line: thin typer commands that call the engine."""
