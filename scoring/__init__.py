"""fraudwall.scoring: the look-alike scorer, and `names`, the one module for domain names.

Its query-time modules run compiled by mypyc when `make native` has built them from these very sources for
this Python, else as Python; `builds` (Python in every case) decides which.
"""

from __future__ import annotations

from fraudwall.scoring.builds import implementation as _implementation
from fraudwall.scoring.builds import use_build


def implementation() -> str:
    """Which scorer runs in this process, "compiled (mypyc)" or "pure Python"."""
    return _implementation(f"{__name__}.scorer")


use_build(__name__, __path__)
