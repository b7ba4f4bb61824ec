"""``coverstory bench conversations [--split dev|test|all]``: the scripted conversation suite.

The suite (``benchmarks/data/conversations.jsonl``) holds hand-written conversations of 2-6 turns
over the demo catalog (goodbooks-10k), written before the dialogue was tuned. Each turn is
what a reader types (``"say"``) or a button press (``"feedback": {"ordinal", "kind"}``), and
carries checks a program evaluates from catalog metadata (see VOCABULARY in
_conversation_checks.py, which is also written into docs/benchmarks/conversations*.md).
The suite's files and their validation are in _conversation_suite.py.

Protocol: every conversation runs in a fresh session (id ``suite-<seed>-<conversation id>``)
of one ``DialogueEngine`` over a scratch copy of the home's catalog (the home's other files
are linked, never written), text turns through ``engine.turn(session, text=...)``, button
turns through ``engine.feedback(session, book_id, kind)`` with the N-th book of the most
recent earlier reply that showed at least N books. One untimed warm-up turn in its own
session comes first, so turn latency is measured warm. Split: ``zlib.crc32(id)`` even -> dev,
odd -> test.
Tune on dev only; failures are listed for dev only, the test part reports figures.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

# the suite's tests read the checks and the suite's files through this module too
from coverstory.benchmarks._conversation_checks import (  # noqa: F401
    CHECKS, CONSTRAINTS, VOCABULARY, BookFacts, TurnRecord, _alts, book_check, evaluate,
    expand_tags, fold, norm_tag, referred, title_key)
from coverstory.benchmarks._conversation_suite import (  # noqa: F401
    DEV_EXTRA, DEV_EXTRA2, DEV_EXTRAS, DEV_PREFIX, SUITE, TURN_TAGS, load_suite, load_tag_groups,
    split_of, validate)
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

WARMUP = "a mystery novel"     # one untimed turn before the suite, so latency is warm


# --------------------------------------------------------------------------------- running
FEEDBACK_EVENT_KINDS = ("like", "dislike", "read")


class _Recorder:
    """Reads a session's ratings and feedback events before and after a turn."""

    def __init__(self, catalog):
        self.cat = catalog

    def snapshot(self, session_id: str) -> tuple[dict, int]:
        uid = self.cat.user_id(f"session:{session_id}")
        ratings = {}
        if uid is not None:
            ratings = dict(self.cat.user_ratings(uid))
        return ratings, self.cat.last_event_id()

    def delta(self, session_id: str, before: tuple[dict, int]) -> tuple[list[dict], dict]:
        ratings0, last = before
        ratings1, _ = self.snapshot(session_id)
        uid = self.cat.user_id(f"session:{session_id}")
        rows = self.cat.session_events_after(last, FEEDBACK_EVENT_KINDS, session_id, uid)
        events = [{"kind": k, "book_id": b} for k, b in rows]
        changed = {b: r for b, r in ratings1.items() if ratings0.get(b) != r}
        return events, changed


def make_engine(home: Path, seed: int):
    import inspect

    from coverstory.dialogue.engine import DialogueEngine

    params = inspect.signature(DialogueEngine).parameters
    kw = {}
    if "seed" in params:
        kw["seed"] = seed
    if "llm" in params:
        kw["llm"] = False      # no language model: figures reproducible, no network
    return DialogueEngine(home, **kw)


GENRE_GROUPS = ("horror", "thriller", "mystery", "fantasy", "science_fiction", "romance",
                "nonfiction", "biography", "history", "poetry", "graphic", "historical_fiction",
                "classics", "war", "dystopia")
AUDIENCE_GROUPS = ("children", "young_adult")


def main_genres(b: BookFacts, groups) -> set[str]:
    """The genre groups (from the frozen tag groups, not the engine's lexicon) that at least
    two of a book's shelves agree on."""
    return {g for g in GENRE_GROUPS if g in groups
            and len(b.tags & expand_tags([f"@{g}"], groups)) >= 2}


def coherent(anchor: BookFacts, b: BookFacts, groups) -> bool:
    """Does a book shown for "like X" share a main genre with X (or, when X has none, its
    audience: children's, young adult or neither)?"""
    mine = main_genres(anchor, groups)
    if mine:
        return bool(mine & main_genres(b, groups))
    aud = lambda x: {g for g in AUDIENCE_GROUPS  # noqa: E731
                     if g in groups and x.tags & expand_tags([f"@{g}"], groups)}
    return aud(anchor) == aud(b)


def anchor_of(turn: dict, catalog) -> BookFacts | None:
    """The "like X" book of a turn: the first title its `none_title` check names."""
    arg = next((c["none_title"] for c in turn.get("checks", []) if "none_title" in c), None)
    if arg is None:
        return None
    title = _alts(arg)[0]
    key = title_key(title)
    rows = catalog.titles_containing(title.split()[-1])
    bid = next((i for i, t in rows if title_key(t) == key), None)
    if bid is None:
        return None
    got = catalog.books([bid])
    return BookFacts.from_book(got[0]) if got else None


def run_conversation(engine, catalog, conv: dict, groups, seed: int = 0) -> dict:
    """Run one conversation; returns its per-turn check results, books shown and timings."""
    sid = f"suite-{seed}-{conv['id']}"
    rec_db = _Recorder(catalog)
    facts_cache: dict[int, BookFacts] = {}
    lists: list[list[BookFacts]] = []
    shown: set = set()
    turns = []
    for i, turn in enumerate(conv["turns"], 1):
        before = rec_db.snapshot(sid)
        error, reply, ms = None, None, None
        t0 = time.perf_counter()
        try:
            if "say" in turn:
                reply = engine.turn(sid, text=turn["say"])
            else:
                fb = turn["feedback"]
                target = referred(lists, fb["ordinal"])
                if target is None or target.id is None:
                    raise LookupError(f"no book {fb['ordinal']} to press {fb['kind']} on")
                reply = engine.feedback(sid, target.id, fb["kind"])
        except Exception as e:      # noqa: BLE001 - a failing turn is a result, not a crash
            error = f"{type(e).__name__}: {e}{_where(e)}"
        ms = (time.perf_counter() - t0) * 1000
        books = []
        text = ""
        if reply is not None:
            cards = list(getattr(reply, "books", None) or [])
            ids = [c.get("id") for c in cards if c.get("id") is not None]
            missing = [int(b) for b in ids if int(b) not in facts_cache]
            if missing:
                for b in catalog.books(missing):
                    facts_cache[b.id] = BookFacts.from_book(b)
            books = [facts_cache.get(int(c["id"])) if c.get("id") is not None
                     and int(c["id"]) in facts_cache else BookFacts.from_card(c) for c in cards]
            text = getattr(reply, "text", "") or ""
            question = getattr(reply, "question", "") or ""
            text = text if question in text else f"{text} {question}".strip()  # (once)
        events, ratings = rec_db.delta(sid, before)
        rec = TurnRecord(books=books, text=text, earlier_lists=list(lists),
                         shown_before=set(shown), events=events, ratings=ratings, error=error)
        results = evaluate(turn.get("checks", []), rec, groups)
        anchor = anchor_of(turn, catalog) if books else None
        coherence = [coherent(anchor, b, groups) for b in books] if anchor else None
        turns.append({
            "coherence": coherence,
            "turn": i, "say": turn.get("say"), "feedback": turn.get("feedback"),
            "intent": getattr(reply, "intent", None), "text": text,
            "books": [f"{b.title} — {', '.join(b.authors[:2])}"
                      + (f" ({b.year})" if b.year is not None else "") for b in books],
            "ms": ms, "engine_ms": getattr(reply, "ms", None), "error": error,
            "checks": results,
        })
        if books:
            lists.append(books)
            shown.update(b.id for b in books)
    return {"id": conv["id"], "tags": conv["tags"], "split": split_of(conv["id"]),
            "turns": turns,
            "passed": all(r.ok for t in turns for r in t["checks"])}


def _where(e: BaseException) -> str:
    """' (at engine.py:123)': the innermost frame, for the engine author."""
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def summarise(runs: list[dict]) -> dict:
    import numpy as np

    n = len(runs)
    by_type: dict[str, list[int]] = {}
    by_tag: dict[str, list[int]] = {}
    constraint_books = satisfied = unknown_year = unknown_pages = constrained_turns = 0
    constraint_checks_ok = constraint_checks = 0
    ms, engine_ms, errors = [], [], 0
    coh = []
    for r in runs:
        for tag in r["tags"]:
            by_tag.setdefault(tag, [0, 0])
            by_tag[tag][0] += 1
            by_tag[tag][1] += r["passed"]
        for t in r["turns"]:
            ms.append(t["ms"])
            if t["engine_ms"] is not None:
                engine_ms.append(float(t["engine_ms"]))
            errors += t["error"] is not None
            coh += t.get("coherence") or []
            for c in t["checks"]:
                s = by_type.setdefault(c.name, [0, 0])
                s[0] += 1
                s[1] += c.ok
            cons = [c for c in t["checks"] if c.name in CONSTRAINTS and c.per_book is not None]
            if cons:
                constrained_turns += 1
                constraint_checks += len(cons)
                constraint_checks_ok += sum(c.ok for c in cons)
                for j in range(len(cons[0].per_book)):
                    constraint_books += 1
                    satisfied += all(c.per_book[j] is not False for c in cons)
                unknown_year += sum(c.unknown for c in cons if c.name.startswith("year"))
                unknown_pages += sum(c.unknown for c in cons if c.name.startswith("pages"))
    pct = lambda a, b: (a / b) if b else None  # noqa: E731
    return {
        "conversations": n,
        "passed_all": sum(r["passed"] for r in runs),
        "pass_rate": pct(sum(r["passed"] for r in runs), n),
        "turns": len(ms),
        "checks": sum(v[0] for v in by_type.values()),
        "checks_passed": sum(v[1] for v in by_type.values()),
        "check_pass_rate": pct(sum(v[1] for v in by_type.values()),
                               sum(v[0] for v in by_type.values())),
        "by_check": {k: {"n": v[0], "passed": v[1], "rate": pct(v[1], v[0])}
                     for k, v in sorted(by_type.items())},
        "by_tag": {k: {"conversations": v[0], "passed": v[1], "rate": pct(v[1], v[0])}
                   for k, v in sorted(by_tag.items())},
        "constraints": {"turns": constrained_turns, "shown_books": constraint_books,
                        "satisfying": satisfied, "share": pct(satisfied, constraint_books),
                        "checks": constraint_checks, "checks_passed": constraint_checks_ok,
                        "unknown_year_skips": unknown_year, "unknown_pages_skips": unknown_pages},
        "latency_ms": {"p50": float(np.percentile(ms, 50)) if ms else None,
                       "p95": float(np.percentile(ms, 95)) if ms else None,
                       "engine_p50": float(np.percentile(engine_ms, 50)) if engine_ms else None,
                       "engine_p95": float(np.percentile(engine_ms, 95)) if engine_ms else None},
        "turn_errors": errors,
        "coherence": {"like_x_shown_books": len(coh), "coherent": sum(coh),
                      "share": pct(sum(coh), len(coh))},
    }


def failures(runs: list[dict]) -> list[dict]:
    out = []
    for r in runs:
        for t in r["turns"]:
            for c in t["checks"]:
                if not c.ok:
                    out.append({"conversation": r["id"], "turn": t["turn"],
                                "said": t["say"] if t["say"] is not None else
                                f"[button {t['feedback']['kind']} #{t['feedback']['ordinal']}]",
                                "check": {c.name: c.arg}, "detail": c.detail,
                                "intent": t["intent"], "reply": (t["text"] or "")[:200],
                                "shown": t["books"], "error": t["error"]})
    return out


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.catalog import Catalog
    from coverstory.errors import CommandError

    split = getattr(ctx, "split", None) or "all"
    suite = load_suite()
    groups = load_tag_groups()
    problems = [e for c in suite for e in validate(c, groups)]
    if problems:
        raise CommandError("conversation suite invalid:\n" + "\n".join(problems[:20]))
    chosen = [c for c in suite if split == "all" or split_of(c["id"]) == split]
    if ctx.quick:
        chosen = chosen[:30]
    home = Path(ctx.home)
    n_gb = 0
    if (home / "catalog.sqlite").is_file():
        cat = Catalog.open(home)
        n_gb = cat.count_source_books("goodbooks")
        cat.close()
    if n_gb == 0:
        raise CommandError(f"bench conversations is written over the goodbooks-10k catalog and "
                           f"the data home {home} has no goodbooks books; import them first: "
                           f"`coverstory --home {home} import goodbooks {ctx.data / 'goodbooks10k'}`")
    tmp = Path(tempfile.mkdtemp(prefix="coverstory-conversations-"))
    try:
        from coverstory.benchmarks.scratch import scratch_home

        scratch = scratch_home(home, tmp / "home")
        catalog = Catalog.open(scratch)
        n_books = catalog.count_books()
        engine = make_engine(scratch, ctx.seed)
        t0 = time.perf_counter()
        engine.turn(f"suite-{ctx.seed}-warmup", text=WARMUP)    # loads indexes and models
        warmup_ms = (time.perf_counter() - t0) * 1000
        runs = []
        t0 = time.time()
        for k, conv in enumerate(chosen, 1):
            runs.append(run_conversation(engine, catalog, conv, groups, ctx.seed))
            if k % 10 == 0 or k == len(chosen):
                done = sum(r["passed"] for r in runs)
                ctx.progress(f"{k}/{len(chosen)} conversations, {done} passed every check, "
                             f"{time.time() - t0:.0f} s")
        if hasattr(engine, "close"):
            engine.close()
        catalog.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    parts = {p: [r for r in runs if r["split"] == p] for p in ("dev", "test")}
    summary = {p: summarise(rs) for p, rs in parts.items() if rs}
    if split == "all":
        summary["all"] = summarise(runs)
    dev_fail = failures(parts["dev"])
    results = {
        "split": split, "quick": ctx.quick, "catalog_books": n_books,
        "suite": {"conversations": len(suite),
                  "dev": sum(split_of(c["id"]) == "dev" for c in suite),
                  "test": sum(split_of(c["id"]) == "test" for c in suite)},
        "warmup_ms": round(warmup_ms, 1),
        "protocol": ("one fresh session per conversation on a scratch copy of the catalog; "
                     "DialogueEngine defaults (no language model), warmed by one untimed "
                     f"turn ({WARMUP!r}) in its own session; text turns via "
                     "engine.turn, button turns via engine.feedback; checks from catalog "
                     "metadata; split by zlib.crc32(id) parity (even: dev); the development "
                     f"extensions ({', '.join(p.name for p in DEV_EXTRAS)}, ids 'x-...') all dev"),
        "summary": summary,
        "dev_failures": dev_fail,
        "test_failing_conversations": sum(not r["passed"] for r in parts["test"]),
        "dev_transcripts": [_transcript(r) for r in parts["dev"]],
    }
    return BenchResult(results=results, markdown=_markdown(results, summary, dev_fail, home))


def _transcript(r: dict) -> dict:
    return {"id": r["id"], "passed": r["passed"],
            "turns": [{"say": t["say"], "feedback": t["feedback"], "intent": t["intent"],
                       "reply": t["text"], "books": t["books"], "ms": round(t["ms"], 1),
                       "failed": [{c.name: c.arg, "detail": c.detail}
                                  for c in t["checks"] if not c.ok]} for t in r["turns"]]}


def _fmt(v, pct=True):
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.0f}"


def _markdown(res: dict, summary: dict, dev_fail: list[dict], home: Path) -> str:
    s = res["suite"]
    lines = [
        f"Suite: {s['conversations']} hand-written conversations "
        f"(benchmarks/data/conversations.jsonl; dev {s['dev']}, test {s['test']} by crc32 of the id); "
        f"this run: split `{res['split']}`{' (quick: first 30)' if res['quick'] else ''}. "
        f"Catalog: {res['catalog_books']:,} books (home {home.name}). "
        f"Protocol: {res['protocol']}"
        + (f" (warm-up turn {res['warmup_ms']:.0f} ms, not counted)" if "warmup_ms" in res else "")
        + ".", "",
        "Tune the dialogue on the dev part only; the test part is reported, never inspected.", "",
        "Coherence: on turns whose checks name the \"like X\" book (`none_title`), the share of "
        "shown books that share a main genre with X — a genre group of the frozen tag groups "
        "that at least two shelves of each book agree on — or, when X has no main genre, its "
        "audience (children's / young adult / neither).", "",
        "## Summary", "",
    ]
    rows = []
    for part, m in summary.items():
        c = m["constraints"]
        rows.append({"part": part, "conversations": m["conversations"],
                     "pass every check": _fmt(m["pass_rate"]),
                     "checks passed": f"{m['checks_passed']}/{m['checks']} ({_fmt(m['check_pass_rate'])})",
                     "constrained shown books satisfying": f"{c['satisfying']}/{c['shown_books']} ({_fmt(c['share'])})",
                     "unknown year / pages skips": f"{c['unknown_year_skips']} / {c['unknown_pages_skips']}",
                     "coherence on 'like X' turns": f"{m['coherence']['coherent']}/"
                     f"{m['coherence']['like_x_shown_books']} ({_fmt(m['coherence']['share'])})",
                     "turn p50 ms": _fmt(m["latency_ms"]["p50"], False),
                     "turn p95 ms": _fmt(m["latency_ms"]["p95"], False),
                     "turn errors": m["turn_errors"]})
    lines.append(md_table(rows))
    main = summary.get("all") or next(iter(summary.values()))
    parts = [p for p in summary if p != "all"]
    lines += ["## Pass rate by check type", ""]
    lines.append(md_table([{"check": k, **{f"{p}": f"{summary[p]['by_check'][k]['passed']}/"
                                             f"{summary[p]['by_check'][k]['n']}"
                                             if k in summary[p]["by_check"] else "–"
                                             for p in parts},
                            "rate": _fmt(v["rate"])}
                           for k, v in main["by_check"].items()]))
    lines += ["", "## Pass rate by conversation tag (share of conversations passing every check)", ""]
    lines.append(md_table([{"tag": k, **{f"{p}": f"{summary[p]['by_tag'][k]['passed']}/"
                                         f"{summary[p]['by_tag'][k]['conversations']}"
                                         if k in summary[p]["by_tag"] else "–" for p in parts},
                            "rate": _fmt(v["rate"])}
                           for k, v in main["by_tag"].items()]))
    if "dev" in summary:
        lines += ["", f"## Dev failures ({len(dev_fail)} failed checks)", "",
                  "Conversation, turn, what was said, the failed check, and what was shown "
                  "(full dev transcripts in the JSON).", ""]
        for f in dev_fail:
            shown = "; ".join(f["shown"][:5]) or "(no books)"
            extra = f" — {f['detail']}" if f["detail"] else ""
            err = f" — error: {f['error']}" if f["error"] else ""
            lines.append(f"- `{f['conversation']}` turn {f['turn']} \"{f['said']}\": "
                         f"`{json.dumps(f['check'], ensure_ascii=False)}`{extra}{err}. "
                         f"Shown: {shown}. Reply: \"{_one_line(f['reply'])}\"")
    if "test" in summary:
        lines += ["", f"Test part: {res['test_failing_conversations']} conversations fail at "
                  "least one check (details withheld so the test part stays held out)."]
    lines += ["", VOCABULARY]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").replace("|", "/")[:160]
