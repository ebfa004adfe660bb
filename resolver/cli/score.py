"""`fraudwall score`: the scorer on the command line, one JSON object a line.

A long input (`PARALLEL_FROM` names or more on stdin, read from a file or pipe and written to one)
is scored by a pool of processes, one for each CPU this process may use, forked once the scorer is
built so they start with its tables. The parent only moves text: it reads stdin in pieces of whole
lines, hands each to the first process free, and writes the lines each returns in the order of the
pieces, so the output is the one a single process writes. A process picks the names out of its
piece, scores them and writes their JSON lines itself. A terminal on either side keeps the single
process, which answers each name as it is read.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import functools
import gc
import itertools
import json
from json.encoder import encode_basestring
import os
import pickle
import select
import signal
import sys
from typing import Iterable, Iterator, TextIO, Union

from fraudwall.blocklists.printable import printable_json
from fraudwall.scoring.brands import BrandsError
from fraudwall.scoring.names import InvalidName, normalise_name
from fraudwall.scoring.score import Rule, Score, Verdict
from fraudwall.scoring.scorer import Scorer
from fraudwall.scoring.settings import ScorerSettings

__all__ = ["add_parsers", "run"]

# Below this many names the pool costs more (a fork per CPU, the chunks' round trips) than it saves.
PARALLEL_FROM = 5_000
CHUNK = 1_000               # names a pool process scores per task, of those read to decide on the pool
CHUNK_CHARS = 20_000        # characters of stdin a pool process scores per task after them: ~1,000 names
CHUNKS_AHEAD = 4            # tasks per process whose lines may wait to be written: memory stays bounded
TAIL_PARTS = 4              # the last tasks are cut this much finer, so the processes end together
PIPE_BYTES = 1 << 20        # a pipe's room for a task's lines (Linux's default, 64 KiB, is a third of them)
# Allocations between two collections of the young generation; Python's 700 made the collector
# a tenth of the time of a name seen for the first time (the resolver's worker raises it too).
GC_YOUNG_THRESHOLD = 50_000

_EPILOG = """\
Each name gives one line: {"name", "score", "verdict", "brand", "reasons", "rule"};
a name that is not a domain name gives {"name", "error"} and the run goes on.
Thresholds and the admin's brands file come from the [scorer] section of --config.
From 5,000 names on stdin (neither side a terminal), every CPU scores; the order stays.
Exit status: 0, or 2 when a name was invalid, 1 when the brands file is broken or a scoring process failed.
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Register the `score` verb on the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "score", help="score names for look-alikes of protected brands (JSON lines)",
        description="Score domain names the way the resolver's scorer stage does, and say why.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="domain names to score")
    parser.add_argument("--stdin", action="store_true", help="also read names from standard input, one a line")
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> ScorerSettings:
    config = getattr(args, "config", None)
    settings = getattr(config, "scorer", None)
    return settings if isinstance(settings, ScorerSettings) else ScorerSettings()


def _stdin_names(lines: Iterable[str]) -> Iterator[str]:
    """The names of lines read from stdin: each stripped, blank lines and comments skipped."""
    for line in lines:
        name = line.strip()
        if name and not name.startswith("#"):
            yield name


def _scored(scorer: Scorer, names: Iterable[str], json_lines: JsonLines) -> tuple[str, int]:
    """The output lines of `names` and the exit status they make (2 when one is invalid, else 0)."""
    lines = []
    status = 0
    score_normalised, of_score, encode = scorer.score_normalised, json_lines.of_score, json_lines.encode
    for name in names:
        try:
            # The name as the lists spell it, so `score faß.de` and `check faß.de` speak of xn--fa-hia.de.
            name = normalise_name(name)
            score = score_normalised(name)
        except InvalidName as error:
            record: dict | None = {"name": name, "error": str(error)}
            line = encode(record)
            status = 2
        else:
            record = None
            line = of_score(name, score)
        # The names come from the command line or a feed on stdin: escaped, they cannot drive the terminal.
        # printable_json changes only a string with a backslash or a character that is not printable;
        # JSON writes a backslash for the first and for every control character, and leaves the
        # others as they are: a line without a backslash that is printable needed no escaping. In an
        # ASCII line (most; isascii() reads a flag) the one such character JSON leaves is DEL: two quick
        # searches instead of isprintable() looking up each character (a fifth of a line's cost).
        if "\\" in line or ("\x7f" in line if line.isascii() else not line.isprintable()):
            line = encode(printable_json(record if record is not None else _record(name, score)))
        lines.append(line)
    lines.append("")
    return "\n".join(lines), status


def _record(name: str, score: Score) -> dict:
    return {"name": name, "score": score.value, "verdict": score.verdict.value,
            "brand": score.brand, "reasons": list(score.reasons), "rule": score.rule}


class JsonLines:
    """A name's line as json.dumps(_record(name, score), ensure_ascii=False) writes it, one for each run.

    `of_score` writes it key for key in about a third of the encoder's time (the line was a tenth of a name's
    cost in a long run): strings quoted by json's own function, the verdicts and rules (a closed set)
    written once, and each score's digits once (float.__repr__ was a quarter of a line; scores are rounded
    to 4 decimals, so there are a few hundred)."""

    __slots__ = ("encode", "_numbers")

    def __init__(self) -> None:
        self.encode = json.JSONEncoder(ensure_ascii=False).encode   # made once, not for each line
        self._numbers: dict[float, str] = {}

    def of_score(self, name: str, score: Score) -> str:
        value, verdict, brand, reasons, rule = score
        if type(value) is not float:
            return self.encode(_record(name, score))
        # 0.0 and -0.0 are one key and two spellings.
        number = self._numbers.get(value) if value else float.__repr__(value)
        if number is None:
            number = self._numbers[value] = float.__repr__(value)
        quote = encode_basestring
        listed = (quote(reasons[0]) if len(reasons) == 1 else ", ".join(map(quote, reasons))) if reasons else ""
        return (f'{{"name": {quote(name)}, "score": {number}, "verdict": {_VERDICTS[verdict._value_]}, '
                f'"brand": {"null" if brand is None else quote(brand)}, "reasons": [{listed}], '
                f'"rule": {_RULES.get(rule) or quote(rule)}}}')


# The verdicts (by value: an enum's own hash is a call in Python) and rules as JSON writes them.
_VERDICTS = {verdict.value: encode_basestring(verdict.value) for verdict in Verdict}
_RULES = {rule.value: encode_basestring(rule.value) for rule in Rule}


def _workers(stdin: TextIO, stdout: TextIO) -> int:
    """Processes to score a long input with: every CPU this process may use, unless a person
    watches either end (a terminal gets each line as its name is read)."""
    if _is_terminal(stdin) or _is_terminal(stdout) or not hasattr(os, "fork"):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None,
        workers: int | None = None) -> int:
    """`workers`: processes for a long input; None: as many as `_workers` says."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not args.names and not args.stdin:
        print("fraudwall score: give names, or --stdin", file=sys.stderr)
        return 2
    # The scorer's tables are tens of thousands of containers made at once, all kept: with Python's
    # threshold the collector walked them again and again while they were built.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        scorer = Scorer(_settings(args))
    except BrandsError as error:
        print(f"fraudwall score: {error}", file=sys.stderr)
        return 1
    # What is built so far (imports, the brand index, the suffix list) lives as long as the run:
    # left out of the collector's walks, and of the pages a forked pool process would copy.
    gc.freeze()
    json_lines = JsonLines()
    workers = _workers(stdin, stdout) if workers is None else workers
    names = _stdin_names(stdin) if args.stdin else iter(())
    head = list(args.names)
    if workers > 1:
        head += itertools.islice(names, max(0, PARALLEL_FROM - len(head)))
        if len(head) >= PARALLEL_FROM:
            tasks = _finer_at_the_end(_tasks(head, stdin if args.stdin else None), 2 * workers)
            try:
                status = _run_parallel(scorer, json_lines, tasks, stdout, workers)
            except PoolError as error:
                print(f"fraudwall score: {error}", file=sys.stderr)
                return 1
            stdout.flush()
            return status
    status = 0
    for name in itertools.chain(head, names):
        text, line_status = _scored(scorer, (name,), json_lines)
        stdout.write(text)
        status = max(status, line_status)
    stdout.flush()
    return status


# What a pool process is sent: names as read already, or text from stdin, whole lines, to pick them from.
Task = Union[list, str]


def _tasks(head: list[str], stdin: TextIO | None) -> Iterator[Task]:
    """The pool's tasks in input order: the names read to decide on the pool, CHUNK at a time, then
    the rest of stdin as text, CHUNK_CHARS characters or so at a time (the parent touches no name)."""
    for start in range(0, len(head), CHUNK):
        yield head[start:start + CHUNK]
    if stdin is None:
        return
    # Cut after a newline, so a piece holds whole lines: the lines iterating over stdin yields, which
    # end at a newline once stdin's decoder has translated what it translates.
    rest: list[str] = []
    while text := stdin.read(CHUNK_CHARS):
        end = text.rfind("\n") + 1
        if not end:
            rest.append(text)   # a line longer than a piece: read on
            continue
        yield "".join(rest) + text[:end]
        rest = [text[end:]]
    tail = "".join(rest)
    if tail:
        yield tail


def _finer_at_the_end(tasks: Iterator[Task], ahead: int) -> Iterator[Task]:
    """`tasks`, read `ahead` in advance so that those left when they run out go in TAIL_PARTS pieces each:
    the processes then end within a small task of each other, not one idle while another scores a whole one."""
    waiting: collections.deque = collections.deque()
    for task in tasks:
        waiting.append(task)
        if len(waiting) > ahead:
            yield waiting.popleft()
    for task in waiting:
        yield from _pieces(task, TAIL_PARTS)


def _pieces(task: Task, parts: int) -> list[Task]:
    """`task` cut into up to `parts` tasks, in order: a text only after a newline."""
    if isinstance(task, list):
        step = max(1, -(-len(task) // parts))
        return [task[start:start + step] for start in range(0, len(task), step)]
    pieces, start = [], 0
    for part in range(1, parts):
        end = task.find("\n", max(start, len(task) * part // parts)) + 1
        if not end:
            break
        pieces.append(task[start:end])
        start = end
    pieces.append(task[start:])
    return [piece for piece in pieces if piece]


class PoolError(Exception):
    """A pool process failed or ended before its tasks were done: the run stops, exit status 1."""


class _PoolProcess:
    """The parent's end of one pool process: its pipes, the tasks it holds (oldest first), whether it was
    told there are no more."""

    __slots__ = ("pid", "tasks", "results", "holds", "told_to_end")

    def __init__(self, pid: int, tasks: int, results: int) -> None:
        self.pid, self.tasks, self.results = pid, tasks, results
        self.holds: collections.deque = collections.deque()
        self.told_to_end = False


def _run_parallel(scorer: Scorer, json_lines: JsonLines, tasks: Iterator[Task], stdout: TextIO,
                  workers: int) -> int:
    """Score `tasks` in `workers` forked processes, each holding two at most (the one it scores and the
    next, so it never waits for the parent), and write their lines in the order of the tasks."""
    # The bytes under stdout, when it has them: a process sends its lines encoded as stdout encodes them,
    # written here as they come (decoding them to encode them again was 3k instructions a name).
    buffer = getattr(stdout, "buffer", None) if os.linesep == "\n" else None
    encoding = (stdout.encoding, stdout.errors) if buffer is not None else None
    write = functools.partial(_write_all, buffer) if buffer is not None else stdout.write
    stdout.flush()
    processes: list[_PoolProcess] = []
    try:
        for _ in range(workers):
            processes.append(_start(scorer, json_lines, encoding, processes))
        sent = written = status = 0
        for process in processes:
            sent = _hand(process, tasks, sent)
            sent = _hand(process, tasks, sent)
        done: dict[int, tuple[str | bytes, int]] = {}
        window = CHUNKS_AHEAD * workers
        while written < sent:
            # A process whose oldest task is too far ahead of the lines written waits, its lines unread:
            # the one holding the next task to write is always read.
            readable = [process for process in processes if process.holds and process.holds[0] < written + window]
            for process in _ready(readable):
                task = process.holds.popleft()
                done[task] = _result(process)
                sent = _hand(process, tasks, sent)
            while written in done:
                text, task_status = done.pop(written)
                write(text)
                status = max(status, task_status)
                written += 1
        return status
    finally:
        _stop(processes)


def _start(scorer: Scorer, json_lines: JsonLines, encoding: tuple[str, str] | None,
           others: list[_PoolProcess]) -> _PoolProcess:
    """Fork a pool process; it scores with the scorer this one built, its tables shared until written, and
    sends its lines encoded with `encoding` (and errors), or as text (None)."""
    tasks_read, tasks_write = os.pipe()
    results_read, results_write = os.pipe()
    _widen(results_write)
    # Ctrl-C is the parent's to handle (exit 130, the pool ended): held back across the fork, so the new
    # process ignores it before it could take it, and then delivered here.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                for fd in (tasks_write, results_read, *(fd for other in others for fd in (other.tasks, other.results))):
                    os.close(fd)
                _serve(scorer, json_lines, encoding, tasks_read, results_write)
                code = 0
            finally:
                os._exit(code)      # never the parent's code after the fork: no atexit, no flush of its buffers
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(tasks_read)
    os.close(results_write)
    return _PoolProcess(pid, tasks_write, results_read)


def _serve(scorer: Scorer, json_lines: JsonLines, encoding: tuple[str, str] | None, tasks: int,
           results: int) -> None:
    """A pool process's life: score each task sent on `tasks`, send its lines and exit status on
    `results`, until the parent sends None or goes."""
    try:
        task = _receive(tasks)
        while task is not None:
            names = task if isinstance(task, list) else _stdin_names(task.split("\n"))
            text, status = _scored(scorer, names, json_lines)
            # The next task is read before these lines go: the parent sends a process a task only once it
            # has read the lines before it, so neither ever waits for the other with a pipe full.
            task = _receive(tasks)
            _send(results, (text.encode(*encoding) if encoding else text, status))
    except (EOFError, BrokenPipeError):
        return      # the parent is gone: nobody to send the lines to
    except Exception:
        import traceback
        _send(results, (traceback.format_exc(), None))
        raise


def _hand(process: _PoolProcess, tasks: Iterator[Task], sent: int) -> int:
    """Send `process` the next task (None once there are none); the count of tasks sent after it."""
    if process.told_to_end:
        return sent
    task = next(tasks, None)
    try:
        _send(process.tasks, task)
    except BrokenPipeError:
        # It ended (not stdout closing: that is no error): what it sent last says why.
        while True:
            _result(process)
    if task is None:
        process.told_to_end = True
        return sent
    process.holds.append(sent)
    return sent + 1


def _ready(processes: list[_PoolProcess]) -> list[_PoolProcess]:
    """Those of `processes` with lines to read (or gone), once one has."""
    poll = select.poll()
    for process in processes:
        poll.register(process.results, select.POLLIN)
    ready = {fd for fd, _ in poll.poll()}
    return [process for process in processes if process.results in ready]


def _result(process: _PoolProcess) -> tuple[str | bytes, int]:
    try:
        text, status = _receive(process.results)
    except EOFError:
        raise PoolError(f"scoring process {process.pid} ended before its names were scored") from None
    if status is None:
        raise PoolError(f"scoring process {process.pid} failed:\n{text.rstrip()}")
    return text, status


def _stop(processes: list[_PoolProcess]) -> None:
    """End the pool: done, or stopped (Ctrl-C, a closed stdout, a process failed)."""
    for process in processes:
        for fd in (process.tasks, process.results):
            os.close(fd)
    for process in processes:
        # Done, each has sent its last lines and is ending; stopped, none has anything left worth waiting for.
        try:
            os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(process.pid, 0)


def _write_all(buffer, data: bytes) -> None:
    # Under python -u (PYTHONUNBUFFERED) stdout's bytes are a raw file, whose write may take only a part.
    view = memoryview(data)
    while view:
        view = view[buffer.write(view) or 0:]


def _widen(fd: int) -> None:
    """Room in the pipe for a task's lines: a pool process writes them at once and scores on."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass        # not Linux, or a lower limit: the lines go in several writes


def _send(fd: int, value: object) -> None:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    message = memoryview(len(data).to_bytes(8, "little") + data)
    while message:
        message = message[os.write(fd, message):]


def _receive(fd: int) -> object:
    """The next value `_send` wrote to `fd`; EOFError when the other end closed first."""
    return pickle.loads(_read(fd, int.from_bytes(_read(fd, 8), "little")))


def _read(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if not count:
            raise EOFError
        got += count
    return buffer
