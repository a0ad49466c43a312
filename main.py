"""Entry point from a clone: ``python main.py [COMMAND] ...`` (see ``--help``)."""

from playground.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
