"""Running as an unprivileged user once the ports are bound, as Unbound's `username:` and BIND's `-u` do."""

from __future__ import annotations

import os
import pwd
import stat
import sys
import sysconfig
from pathlib import Path

from fraudwall.resolver.config import ConfigError

# Files fraudwall creates (the store, the query log, the reports): no write for the group, nothing for others.
UMASK = 0o027


def check_can_become(user: str, starts_python: bool = False) -> None:
    """ConfigError, before anything is bound, when this process cannot switch to `user`, or, when the
    service will start Python as `user` (`starts_python`: the transfer server, a feed's or a followed
    zone's import, an import of `files` at start), when `user` could not read it (a Python under
    /root). The workers are forked with what is loaded already; those others load it anew."""
    if not user:
        return
    account = pwd.getpwnam(user)   # the config checked that the user exists
    if os.geteuid() not in (0, account.pw_uid):
        raise ConfigError(f"[server] user: only root can switch to {user!r} (running as uid {os.geteuid()})")
    if os.geteuid() == account.pw_uid or not starts_python:
        return   # already it (systemd's User=): what it runs it could read to start
    groups = set(os.getgrouplist(user, account.pw_gid))
    for what, path in running_from():
        closed = _closed_to(Path(path), account.pw_uid, groups)
        if closed is not None:
            raise ConfigError(f"[server] user: {user!r} cannot reach {what} ({path}): {closed} is closed to "
                              f"it; install fraudwall where {user!r} can read it, or leave [server] user unset")


def running_from() -> tuple[tuple[str, str], ...]:
    """What a process running fraudwall reads its code from: the interpreter, its standard library,
    the installed packages, fraudwall's own folder."""
    return (("the Python fraudwall runs on", sys.executable),
            ("Python's standard library", os.path.dirname(os.__file__)),
            ("the installed packages", sysconfig.get_paths()["purelib"]),
            ("fraudwall's code", str(Path(__file__).resolve().parents[2])))   # resolver/server/ -> its top


def _closed_to(path: Path, uid: int, groups: set[int]) -> Path | None:
    """The first folder on the way to `path` (or `path` itself) that `uid` with `groups` may not pass
    or read, by the permission bits; None when all are open to it (root reads everything)."""
    if uid == 0:
        return None
    try:
        path = path.resolve()
        steps = [*reversed(path.parents), path]
        for step in steps:
            info = step.stat()
            need = (stat.S_IXUSR | (stat.S_IRUSR if step == path else 0)) if info.st_uid == uid else \
                (stat.S_IXGRP | (stat.S_IRGRP if step == path else 0)) if info.st_gid in groups else \
                (stat.S_IXOTH | (stat.S_IROTH if step == path else 0))
            if stat.S_ISREG(info.st_mode):
                need &= stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            if info.st_mode & need != need:
                return step
    except OSError:
        return None   # gone or unreadable to root itself: nothing this check can say
    return None


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
