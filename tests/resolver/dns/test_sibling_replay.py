"""Blocks kept for siblings: a new first label under a name blocked by an entry above it gets, without
the chain, the reply the chain would give it; anything the chain would decide otherwise goes down it."""

import random
import time

import dns.message
from fraudwall.blocklists import store
from fraudwall.blocklists.formats import Mode
from fraudwall.blocklists.lookup import StoreBlocklist
from fraudwall.blocklists.memory import MemoryBlocklist
from fraudwall.blocklists.verdict import Action, Match
from fraudwall.resolver.config import Config
from fraudwall.resolver.dns.codes import AnswerKind, Rcode, Transport
from fraudwall.resolver.dns.handler import SIBLINGS_ONE_BY_ONE
from fraudwall.resolver.dns.replay import ReplayMemo
from fraudwall.resolver.dns.upstream_policy import Upstream
from fraudwall.resolver.server.worker import Resolver

from tests.blocklists.blocklist_helpers import import_text
from tests.resolver.helpers import FixedAnswer, parse

LISTED = "evil.example"


def entry(name: str, action: Action = Action.BLOCK) -> Match:
    return Match(name, action, "fraud", name, "fraud.txt:1", 0.0)


class CountingBlocklist(MemoryBlocklist):
    """Counts the names the blocklist stage looks up: a sibling replay looks none up."""

    def __init__(self, entries) -> None:
        super().__init__(entries)
        self.looked_up: list[str] = []

    def match_name(self, name, lists=None):
        self.looked_up.append(name)
        return super().match_name(name, lists)


def resolver(entries=(entry(LISTED),), config: Config | None = None, siblings: bool = True):
    """The worker's resolver over an in-memory list, an upstream that answers NOERROR without records;
    `siblings` False: nothing is kept, every query goes down the chain (what the kept replies must match)."""
    blocklist = CountingBlocklist(entries)
    built = Resolver(config or Config(), blocklist, (Upstream("127.0.0.1", 9),))
    built.cache.next = FixedAnswer()   # in place of inspect and upstream
    # The handler's clock stands still: a replay slower than TALLY_UNDER (0.1 ms: a pause of a loaded
    # machine) is told at once instead of counted, and what the observers see must not hang on that.
    now = time.monotonic()
    built.handler.clock = lambda: now
    if not siblings:
        built.handler.replays = ReplayMemo(size=0)
    seen = []
    built.handler.observers = (lambda query, answer, seconds, count=1: seen.extend([(query.qname, answer.kind)] * count),)
    return built, blocklist, seen


def ask(built, wire: bytes, client: str = "127.0.0.1") -> bytes:
    sent = []
    built.handler.handle(wire, client, Transport.UDP, sent.append)
    assert len(sent) == 1
    return sent[0]


def query(name: str, rdtype: str = "A", ident: int = 7, **options) -> bytes:
    message = dns.message.make_query(name, rdtype, **options)
    message.id = ident
    return message.to_wire()


def mixed_case(name: str, rng: random.Random) -> str:
    """As a resolver using DNS 0x20 asks: the reply must echo the case."""
    return "".join(letter.upper() if rng.random() < 0.5 else letter for letter in name)


def test_new_labels_under_a_listed_name_get_the_chains_reply_to_the_byte_without_the_chain():
    kept, blocklist, seen = resolver()
    reference, _, _ = resolver(siblings=False)
    rng = random.Random(5)
    ask(kept, query(f"first.{LISTED}"))   # down the chain: kept for its siblings
    ask(reference, query(f"first.{LISTED}"))
    blocklist.looked_up.clear()
    for number in range(200):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rng.randint(1, 63)))
        wire = query(f"{mixed_case(label, rng)}.{LISTED}", ident=rng.getrandbits(16))
        reply = ask(kept, wire)
        assert reply == ask(reference, wire), label
    assert blocklist.looked_up == []   # none went down to the blocklist stage
    answer = parse(reply)
    assert answer.answer[0][0].address == "0.0.0.0"
    assert answer.question[0].name.to_text().rstrip(".").lower() == f"{label.lower()}.{LISTED}"


def test_a_flood_of_siblings_is_told_by_name_then_counted_as_one_query_a_second():
    kept, _, seen = resolver()
    ask(kept, query(f"first.{LISTED}"))
    names = [f"n{number}.{LISTED}" for number in range(200)]
    for name in names:
        ask(kept, query(name))
    # The first ones with their own names (the query log's rows), the rest counted: nothing more yet.
    assert seen == [(f"first.{LISTED}", AnswerKind.BLOCKED)] + [
        (name, AnswerKind.BLOCKED) for name in names[:SIBLINGS_ONE_BY_ONE]]
    kept.handler.report_replays()   # the worker's second
    assert seen[1 + SIBLINGS_ONE_BY_ONE:] == [(f"*.{LISTED}", AnswerKind.BLOCKED)] * (200 - SIBLINGS_ONE_BY_ONE)
    # Another client, and the next second, start with names again.
    ask(kept, query(f"other.{LISTED}"), client="127.0.0.2")
    ask(kept, query(f"later.{LISTED}"))
    assert seen[-2:] == [(f"other.{LISTED}", AnswerKind.BLOCKED), (f"later.{LISTED}", AnswerKind.BLOCKED)]


def test_each_query_shape_is_kept_apart_and_replayed_alike():
    kept, blocklist, _ = resolver()
    reference, _, _ = resolver(siblings=False)
    shapes = [dict(rdtype="AAAA"), dict(rdtype="TXT"), dict(use_edns=False), dict(want_dnssec=True),
              dict(use_edns=0, payload=4096)]
    for options in shapes:
        for label in ("one", "two", "Three"):
            wire = query(f"{label}.sub.{LISTED}", **options)
            assert ask(kept, wire) == ask(reference, wire), options
    assert blocklist.looked_up == [f"one.sub.{LISTED}"] * len(shapes)   # the first of each shape only


def test_an_entry_at_the_new_name_itself_decides_it():
    entries = (entry(LISTED), entry(f"ok.{LISTED}", Action.ALLOW), entry(f"gone.{LISTED}", Action.NXDOMAIN))
    kept, _, seen = resolver(entries)
    ask(kept, query(f"first.{LISTED}"))
    allowed = parse(ask(kept, query(f"ok.{LISTED}")))
    assert allowed.rcode() == Rcode.NOERROR and not allowed.answer          # the upstream's answer
    assert seen[-1] == (f"ok.{LISTED}", AnswerKind.RESOLVED)
    assert parse(ask(kept, query(f"gone.{LISTED}"))).rcode() == Rcode.NXDOMAIN


def test_an_allowlisted_name_and_the_doh_canary_go_down_the_chain():
    config = Config().replace("allowlist", names=(f"good.{LISTED}",))
    kept, _, seen = resolver(config=config)
    ask(kept, query(f"first.{LISTED}"))
    assert not parse(ask(kept, query(f"good.{LISTED}"))).answer
    assert seen[-1] == (f"good.{LISTED}", AnswerKind.RESOLVED)

    # A list holding a whole TLD blocks the canary's siblings; the canary keeps its own answer.
    tld, _, seen = resolver((entry("net"),))
    reference, _, _ = resolver((entry("net"),), siblings=False)
    ask(tld, query("first.net"))
    canary = query("use-application-dns.net")
    assert ask(tld, canary) == ask(reference, canary)
    assert parse(ask(tld, canary)).rcode() == Rcode.NXDOMAIN and seen[-1][1] is AnswerKind.LOCAL


def test_a_client_the_access_stage_refuses_gets_no_sibling_replay():
    kept, _, seen = resolver()
    ask(kept, query(f"first.{LISTED}"))
    refused = parse(ask(kept, query(f"second.{LISTED}"), client="192.0.2.99"))
    assert refused.rcode() == Rcode.REFUSED and not refused.answer
    assert seen[-1] == (f"second.{LISTED}", AnswerKind.REFUSED)


def test_a_name_over_255_octets_is_refused_as_the_chain_refuses_it():
    kept, _, _ = resolver()
    reference, _, _ = resolver(siblings=False)
    deep = ".".join(["a" * 63] * 3)   # the parent's labels take 206 octets: a first label of 48 makes 255
    ask(kept, query(f"first.{deep}.{LISTED}"))
    longest = query(f"{'b' * 48}.{deep}.{LISTED}")
    assert ask(kept, longest) == ask(reference, longest)
    assert parse(ask(kept, longest)).answer[0][0].address == "0.0.0.0"
    # One more octet in the first label: a question of 256 octets, which the chain does not read.
    too_long = longest[:12] + bytes([49]) + b"b" * 49 + longest[12 + 1 + 48:]
    assert ask(kept, too_long) == ask(reference, too_long)
    assert ask(kept, too_long)[3] & 0xF == Rcode.FORMERR


def test_the_kept_blocks_are_forgotten_when_the_lists_change():
    kept, blocklist, _ = resolver()
    ask(kept, query(f"first.{LISTED}"))
    blocklist._entries.clear()   # the admin removed the entry; the worker hears of a new generation
    kept.on_generation(2)
    reply = parse(ask(kept, query(f"second.{LISTED}")))
    assert reply.rcode() == Rcode.NOERROR and not reply.answer


def test_over_a_store_an_entry_below_the_listed_name_keeps_its_own_answer(tmp_path):
    db = tmp_path / "b.db"
    import_text(db, tmp_path, "feed", f"{LISTED}\n")
    store.set_manual(store.connect_catalogue(db), [(f"ok.{LISTED}", Mode.EXACT, Action.ALLOW, "")])
    built = Resolver(Config(), StoreBlocklist(db), (Upstream("127.0.0.1", 9),))
    built.cache.next = FixedAnswer()
    assert parse(ask(built, query(f"first.{LISTED}"))).answer[0][0].address == "0.0.0.0"
    assert parse(ask(built, query(f"second.{LISTED}"))).answer[0][0].address == "0.0.0.0"
    assert not parse(ask(built, query(f"ok.{LISTED}"))).answer      # allowed by the operator: the upstream's
    built.blocklist.close()


def test_a_sibling_asked_again_becomes_a_plain_replay():
    kept, _, seen = resolver()
    ask(kept, query(f"first.{LISTED}"))
    wire = query(f"www.{LISTED}")
    for _ in range(3):   # a sibling's reply twice (kept from the second on), then a plain replay
        ask(kept, wire)
    assert len(kept.handler.replays) == 1
    assert len(seen) == 3            # the first name, then the sibling's two
    reply = ask(kept, wire)
    assert len(seen) == 3            # replays: counted, handed to the observers once a second
    kept.handler.report_replays()
    assert seen[3:] == [(f"www.{LISTED}", AnswerKind.BLOCKED)] * 2   # the loop's third and this one
    assert parse(reply).answer[0][0].address == "0.0.0.0"
