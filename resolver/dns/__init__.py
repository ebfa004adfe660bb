"""The DNS core: wire codec, answer types, the chain and its stages; no sockets.

The wire codec and the replay memo run compiled by mypyc when `make native` has built them from these
very sources for this Python, else as Python (fraudwall.scoring.builds decides which).
"""

from fraudwall.scoring.builds import use_build

use_build(__name__, __path__)
