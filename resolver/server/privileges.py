"""Running as an unprivileged user once the ports are bound, as Unbound's `username:` and BIND's `-u` do."""

from __future__ import annotations

import os
import pwd

from fraudwall.resolver.config import ConfigError

# Files fraudwall creates (the store, the query log, the reports): no write for the group, nothing for others.
UMASK = 0o027


def check_can_become(user: str) -> None:
    """ConfigError, before anything is bound, when this process cannot switch to `user`."""
    if not user:
        return
    uid = pwd.getpwnam(user).pw_uid   # the config checked that the user exists
    if os.geteuid() not in (0, uid):
        raise ConfigError(f"[server] user: only root can switch to {user!r} (running as uid {os.geteuid()})")


def become(user: str) -> None:
    """Switch to `user`, its group and its supplementary groups, for good; nothing to do when already it.

    Root can no longer bind a low port or read a file of root's afterwards: what needs root is done before.
    """
    if not user:
        return
    account = pwd.getpwnam(user)
    if os.geteuid() == account.pw_uid:
        return   # e.g. systemd's User=: nothing to drop (and its filter refuses the set*id calls)
    os.setgroups(os.getgrouplist(user, account.pw_gid))
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)   # real, effective and saved: there is no way back
