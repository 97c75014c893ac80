"""How the CLI shows things: the one table printer, the one error printer, and each view."""
