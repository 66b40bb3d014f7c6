"""The ``grounddefake`` command line: eval, score, report, compare, merge, detect, parse, data, prompts, suites,
models, conventions, train."""

from __future__ import annotations

from grounddefake.cli import data_commands, info_commands, run_commands, train_commands
from grounddefake.cli.app import app

__all__ = ["app", "data_commands", "info_commands", "main", "run_commands", "train_commands"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
