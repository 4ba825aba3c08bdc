"""`python -m bot` is the same as the `canhgiac` command."""

import sys

from bot.cli import main

sys.exit(main())
