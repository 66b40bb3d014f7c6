"""``python -m grounddefake.cli``."""

from grounddefake.cli import main

main()
