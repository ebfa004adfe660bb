"""The store is the one module that speaks SQL to the catalogue (issue 12: one place for each concept)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Modules that read or write lists; they call store.py's functions instead of SQL.
CALLERS = [*sorted((ROOT / "blocklists").glob("*.py")), *sorted((ROOT / "blocklists" / "formats").glob("*.py")),
           ROOT / "resolver" / "cli" / "lists.py"]
STATEMENT = re.compile(r"\.execute(many|script)?\(|\"(SELECT|INSERT|UPDATE|DELETE|CREATE|BEGIN|COMMIT|PRAGMA)\b")


def test_no_module_but_the_store_runs_sql():
    found = {}
    for path in CALLERS:
        if path.name == "store.py":
            continue
        lines = [line.strip() for line in path.read_text().splitlines() if STATEMENT.search(line)]
        if lines:
            found[str(path.relative_to(ROOT))] = lines
    # The one exception: the query path's look-up in an open segment, with the statement the store builds.
    assert found == {"blocklists/lookup.py": ["for row in segment.connection.execute(statement, names):"]}
