"""fraudwall.blocklists: feeds, the store, and the lookup the resolver asks.

The Bloom filter runs compiled by mypyc when `make native` has built it from these very
sources for this Python, else as Python (fraudwall.scoring.builds decides which).
"""

from fraudwall.scoring.builds import use_build

use_build(__name__, __path__)
