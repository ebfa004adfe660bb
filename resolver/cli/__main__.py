"""`python -m fraudwall.resolver.cli`: the same as the `fraudwall` command."""

import sys

from fraudwall.resolver.cli import main

sys.exit(main())
