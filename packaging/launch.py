"""Entry point of the frozen app (build.spec): the same `steward` command line the console script runs."""

import sys

from steward.cli import main

sys.exit(main())
