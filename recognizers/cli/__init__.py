"""``lstm-vault`` engine commands: argument parsing and printing only; each command calls the engine."""
from recognizers.cli.main import main

__all__ = ["main"]
