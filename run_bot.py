"""Entry point: `python run_bot.py [run|migrate|import-roster|invite-links] ...`."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
