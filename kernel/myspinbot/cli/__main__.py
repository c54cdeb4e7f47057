"""`python -m myspinbot.cli`: the same as the `myspinbot` command."""

import sys

from myspinbot.cli.main import main

sys.exit(main())
