"""``coverstory bench dialogue``: simulated readers in their own words, against baselines.

Protocol (seeded):
- targets: goodbooks books of the home's catalog with a description of at least 100
  characters, in a permutation drawn with seed 0. Seed 0 reports the first 500 (the first 40
  with --quick); any other seed (1 = development) draws from the *other* books of the pool,
  so development targets never overlap the reported ones;
- one simulated reader per target (``coverstory.benchmarks.simulator``: the target's coarse facets
  in hand-written paraphrases, imperfect plot memory, typos, chit-chat), the same reader under
  every policy: ``default``, ``random-question`` and ``popular``; text turns only, through the
  engine's public ``turn``; at most 8 turns (5 with --quick);
- success@k = the target is among the books shown within the first k turns (turn 1 answers
  the opening); latency = wall time of every ``turn`` call after one warm-up turn;
- every conversation is audited for leaks (``coverstory.benchmarks.leaks``);
- then the hand-written descriptive queries (first 40 = the development part), one fresh
  session each, Hit@1 / Hit@5.
Sessions go to a scratch copy of the catalog (the home's other files are linked, read as
caches), never to the home itself.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from coverstory.errors import CommandError
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

POLICIES = ("default", "random-question", "popular")
FULL_TARGETS, QUICK_TARGETS = 500, 40
FULL_TURNS, QUICK_TURNS = 8, 5
MIN_DESCRIPTION = 100
DEV_QUERIES = 40


def target_pool(cat) -> list[int]:
    """Catalog ids of the goodbooks books with a description of >= 100 characters."""
    return cat.described_books("goodbooks", MIN_DESCRIPTION)


def draw_targets(pool: list[int], seed: int, n: int) -> list[int]:
    """Seed 0: the first n of a seed-0 permutation of the pool (the reported targets; --quick
    takes a prefix of the full set). Other seeds: from the rest of the pool only."""
    import numpy as np

    order = [int(x) for x in np.random.default_rng(0).permutation(np.asarray(pool, np.int64))]
    reserved = min(FULL_TARGETS, len(order) // 2)
    if seed == 0:
        return order[:min(n, reserved)]
    rest = np.asarray(sorted(order[reserved:]), np.int64)
    return [int(x) for x in np.random.default_rng(seed).permutation(rest)[:n]]


def check_home(cat, ctx: BenchContext) -> list[int]:
    """The target pool, or a clear error saying what to import first."""
    n_books = cat.count_books()
    n_gb = cat.count_source_books("goodbooks")
    how = (f"import them first: `coverstory --home {ctx.home} import goodbooks "
           f"{ctx.data / 'goodbooks10k'}`")
    if n_gb == 0:
        what = "the catalog is empty" if n_books == 0 else f"its {n_books} books are not goodbooks"
        raise CommandError(f"bench dialogue draws its targets from the goodbooks-10k books, and "
                           f"the data home {ctx.home} has none ({what}); {how}")
    pool = target_pool(cat)
    if not pool:
        raise CommandError(f"none of the {n_gb} goodbooks books in {ctx.home} has a description "
                           f"of {MIN_DESCRIPTION}+ characters (descriptions.csv not imported?); "
                           f"{how}")
    return pool


def _search(home: Path):
    try:
        from coverstory.search.service import SearchService
    except ImportError:
        return None, "SearchService not available: the dialogue's own text index only"
    sem = any((home / "features" / "text").glob("*.safetensors")) \
        if (home / "features" / "text").is_dir() else False
    return SearchService(home), ("the dialogue's BM25 blended with MiniLM cosine over the "
                                 "books' text features" if sem else
                                 "the dialogue's BM25 only (no text features in this home)")


def _engine(home: Path, policy: str, search, seed: int):
    from coverstory.dialogue.engine import DialogueEngine

    kw = {"recommend": False, "llm": False, "seed": seed}
    if search is not None:
        kw["search"] = search
    try:
        return DialogueEngine(home, policy=policy, **kw)
    except TypeError:
        return DialogueEngine(home, policy=policy)


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.catalog import Catalog
    from coverstory.benchmarks import leaks, simulator
    from coverstory.benchmarks.simulator import Shelf, simulate, summarise

    cat = Catalog.open(ctx.home)
    pool = check_home(cat, ctx)
    n_targets = QUICK_TARGETS if ctx.quick else FULL_TARGETS
    max_turns = QUICK_TURNS if ctx.quick else FULL_TURNS
    targets = draw_targets(pool, ctx.seed, n_targets)
    n_books = cat.count_books()
    n_gb = cat.count_source_books("goodbooks")
    shelf = Shelf(cat)
    tag_df, tagged = leaks.tag_frequencies(cat)
    audit = leaks.Audit(tag_df, tagged, (b.description for b in cat.books()),
                        own_words=simulator.vocabulary(), seed=ctx.seed)
    search, search_note = _search(ctx.home)
    from coverstory.benchmarks.scratch import scratch_home

    scratch = scratch_home(ctx.home)
    results, examples = {}, {}
    try:
        for pol in POLICIES:
            eng = _engine(scratch, pol, search, ctx.seed)
            eng.turn(f"bench-warmup-{pol}", text="hello")
            ctx.progress(f"{len(targets)} simulated readers, policy {pol}")
            t0 = time.time()
            res = simulate(eng, shelf, targets, pol, max_turns, ctx.seed, tag="bench")
            summ = summarise(res)
            summ["seconds"] = round(time.time() - t0, 1)
            results[pol] = summ
            for r in res:
                audit.check(shelf(r["book_id"]), r["lines"])
            examples[pol] = [{"target": shelf(r["book_id"]).title,
                              "success_turn": r["success_turn"], "lines": r["lines"]}
                             for r in res if r["keep"]]
            if hasattr(eng, "close"):
                eng.close()
        ctx.progress("descriptive queries")
        desc = _descriptive(ctx, cat, scratch, search)
        extras = _extras(ctx, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    leak = audit.summary()
    out = {"catalog_books": n_books, "goodbooks_books": n_gb, "target_pool": len(pool),
           "targets": len(targets), "target_ids": targets, "max_turns": max_turns,
           "text_relevance": search_note, "policies": results, "leak_audit": leak,
           "descriptive": desc, **extras, "examples": examples}
    return BenchResult(results=out, markdown=_markdown(ctx, out))


CLEAN = "held out, unseen by the search ranker"


def _descriptive(ctx: BenchContext, cat, scratch: Path, search) -> dict:
    """The hand-written descriptive requests, one fresh session each (first 40 = dev)."""
    import numpy as np

    path = Path(__file__).resolve().parents[1] / "dialogue" / "data" / "descriptive_queries.jsonl"
    if not path.is_file():
        return {"skipped": f"{path} not found"}
    queries = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    if ctx.quick:
        queries = queries[:DEV_QUERIES]
    eng = _engine(scratch, "default", search, ctx.seed)
    parts = {"development": [0, 0, 0], "held out": [0, 0, 0], CLEAN: [0, 0, 0]}
    # the search ranker the chat blends in was fitted on the text-search dev split, which
    # holds some of these requests: CLEAN is the held-out part none of it ever saw
    from coverstory.search.querysets import load as load_querysets

    def by_gid(gid):
        bid = cat.find_book(source=("goodbooks", str(gid)))
        return cat.book(bid) if bid is not None else None

    ranker_split = [q["split"] for q in load_querysets(("dialogue",), books_by_source=by_gid)]
    ms, misses = [], []
    for i, q in enumerate(queries):
        exp = {b for g in q["goodbooks_ids"]
               if (b := cat.find_book(source=("goodbooks", str(g)))) is not None}
        t0 = time.perf_counter()
        reply = eng.turn(f"bench-desc-{ctx.seed}-{i}", text=q["query"])
        ms.append((time.perf_counter() - t0) * 1000)
        ids = [int(b["id"]) for b in reply.books][:5]
        names = ["development" if i < DEV_QUERIES else "held out"]
        if i >= DEV_QUERIES and i < len(ranker_split) and ranker_split[i] == "test":
            names.append(CLEAN)
        for name in names:
            p = parts[name]
            p[0] += 1
            p[1] += bool(ids[:1] and ids[0] in exp)
            p[2] += bool(exp & set(ids))
        if not exp & set(ids):
            misses.append({"query": q["query"], "expected": q.get("titles"),
                           "got": [b.get("title") for b in reply.books][:5]})
    if hasattr(eng, "close"):
        eng.close()
    whole = [parts["development"][j] + parts["held out"][j] for j in range(3)]
    n = whole[0]
    return {"n": n, "hit@1": whole[1] / max(n, 1), "hit@5": whole[2] / max(n, 1),
            "p50_ms": float(np.percentile(ms, 50)) if ms else None,
            "parts": {k: {"n": v[0], "hit@1": v[1] / v[0] if v[0] else None,
                          "hit@5": v[2] / v[0] if v[0] else None} for k, v in parts.items()},
            "misses": misses[:30]}


def _transcript(ex: dict) -> str:
    lines = [f"Target: *{ex['target']}* — "
             + (f"shown at turn {ex['success_turn']}" if ex["success_turn"] else "not shown")]
    for x in ex["lines"]:
        lines.append(f"- reader: {x['reader']}")
        if "bot" in x:
            q = f" — asks: {x['question']}" if x.get("question") else ""
            opts = f" ({', '.join(x['options'])})" if x.get("options") else ""
            said = " ".join((x.get("bot") or "").split())
            said = said if len(said) <= 160 else said[:157] + "..."
            lines.append(f"  - bot: {said}")
            lines.append(f"    shows: {'; '.join(t or '?' for t in x['books']) or '(nothing)'}"
                         f"{q}{opts}")
    return "\n".join(lines) + "\n"


def _markdown(ctx: BenchContext, o: dict) -> str:
    rows = [{"policy": p, "n": s["n"], "success@1": s["success@1"], "success@3": s["success@3"],
             "success@5": s["success@5"], f"success@{o['max_turns']}": s["success@max"],
             "mean turns to success": s["mean_turns_to_success"],
             "books per turn": s["books_per_turn"], "turn p50 ms": s["p50_ms"],
             "turn p95 ms": s["p95_ms"], "seconds": s["seconds"]}
            for p, s in o["policies"].items()]
    la = o["leak_audit"]
    d = o["descriptive"]
    md = (f"Catalog: {o['catalog_books']} books ({o['goodbooks_books']} goodbooks). Targets: "
          f"{o['targets']} goodbooks books with a description of {MIN_DESCRIPTION}+ characters "
          f"(pool {o['target_pool']}), "
          + ("the reported set (seed 0)" if ctx.seed == 0 else
             f"development targets (seed {ctx.seed}, disjoint from the reported set)")
          + f"; at most {o['max_turns']} turns; the same simulated reader under every policy, "
          "speaking its own words (coarse facets in hand-written paraphrases, imperfect plot "
          f"memory, typos, chit-chat); text relevance: {o['text_relevance']}; no recommender "
          "profile (fresh readers).\n\n## Simulated readers\n\n" + md_table(rows) +
          "\nsuccess@k: the target is among the books shown within the first k turns (turn 1 "
          "answers the opening). Turn latency: wall time of `DialogueEngine.turn`, after one "
          "warm-up turn.\n\n## Leak audit\n\n"
          f"{la['conversations']} conversations, {la['reader_lines']} reader lines: "
          f"{la['leaks']} leaks (title words, author names, or the target's shelf tags found on "
          f"at most {la['rare_tag_limit_books']} books said without the bot offering them). "
          f"Description words used: {la['description_words_used']}; their mean IDF rank "
          "percentile within their description (0 = the rarest word): "
          + (f"{la['idf_rank_pct_used']:.3f}, against {la['idf_rank_pct_random']:.3f} for a "
             f"random draw and {la['idf_rank_pct_top_idf']:.3f} for the top-IDF words.\n"
             if la["idf_rank_pct_used"] is not None else "n/a.\n"))
    if "skipped" not in d:
        md += ("\n## Single-turn descriptive queries\n\n" + md_table(
            [{"queries": f"all {d['n']}", "Hit@1": d["hit@1"], "Hit@5": d["hit@5"],
              "p50 ms": d["p50_ms"]}] +
            [{"queries": f"{k} ({v['n']})", "Hit@1": v["hit@1"], "Hit@5": v["hit@5"]}
             for k, v in d["parts"].items() if v["n"]])
               + "\nDevelopment: the first 40 requests (the dialogue's weights were set on them). "
               "The chat's text relevance blends in the search service's learned ranking, "
               "whose ranker was fitted on the text-search dev split (split by target), "
               f"which holds some held-out requests; '{CLEAN}' is the held-out part that no "
               "tuning of the dialogue or of the search ranker saw.\n")
    ia = o.get("intent_heldout") or {}
    md += ("\nIntent classifier, hand-written held-out set: "
           + (f"accuracy {ia['accuracy']:.3f} on {ia['n']} utterances.\n" if "accuracy" in ia
              else f"skipped ({ia.get('skipped')}).\n"))
    md += _voice_md(o.get("voice"))
    ex = o["examples"].get("default", [])
    if ex:
        md += "\n## Example conversations (default policy, first targets)\n\n" + "\n".join(
            _transcript(e) for e in ex)
    return md


# ---- optional extras: intent accuracy and voice (dialogue internals; skipped if they moved) ----
def _extras(ctx: BenchContext, scratch: Path) -> dict:
    out = {}
    try:
        from coverstory.dialogue import intents, utterances

        clf = intents.load_or_train(None)
        acc = clf.accuracy(utterances.load("intents_test.jsonl"))
        out["intent_heldout"] = {"accuracy": acc["accuracy"], "n": acc["n"]}
    except (ImportError, AttributeError, TypeError, KeyError, FileNotFoundError) as e:
        return {"intent_heldout": {"skipped": f"{type(e).__name__}: {e}"}}
    try:
        out["voice"] = _voice_eval(ctx, scratch, clf, n=10 if ctx.quick else 40)
    except (ImportError, AttributeError, TypeError, KeyError, FileNotFoundError) as e:
        out["voice"] = {"skipped": f"{type(e).__name__}: {e}"}
    return out


def _voice_eval(ctx: BenchContext, scratch: Path, clf, n: int) -> dict:
    """Spoken versions (espeak-ng, voice en-us+m3) of the held-out utterances through
    pocketsphinx with the catalog language model: word error rate and intent accuracy."""
    import shutil as sh
    import subprocess

    import numpy as np

    from coverstory.dialogue import bookindex, utterances, voice

    espeak = sh.which("espeak-ng")
    try:
        voice._pocketsphinx()
    except voice.VoiceUnavailable as e:
        return {"skipped": str(e)}
    if espeak is None:
        return {"skipped": "espeak-ng not installed (apt-get install -y espeak-ng)"}
    idx = bookindex.for_home(scratch)
    rows = [r for r in utterances.load("intents_test.jsonl") if len(r["text"].split()) >= 3]
    rng = np.random.default_rng(ctx.seed)
    rows = [rows[i] for i in rng.choice(len(rows), size=min(n, len(rows)), replace=False)]
    errs = words = ok = 0
    ms = []
    for i, r in enumerate(rows):
        wav = scratch / f"v{i}.wav"
        subprocess.run([espeak, "-v", "en-us+m3", "-s", "130", "-w", str(wav), r["text"]],
                       check=True, capture_output=True)
        t0 = time.perf_counter()
        heard = voice.transcribe(wav.read_bytes(), scratch, idx)
        ms.append((time.perf_counter() - t0) * 1000)
        ref, hyp = _spoken_words(r["text"]), _spoken_words(heard)
        errs += _edit_distance(ref, hyp)
        words += len(ref)
        ok += clf.predict(heard)[0] == r["intent"] if heard else 0
    return {"utterances": len(rows), "wer": errs / max(words, 1), "intent_accuracy": ok / len(rows),
            "p50_ms": float(np.percentile(ms, 50)), "tts": "espeak-ng en-us+m3, 130 wpm"}


def _spoken_words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z']+", text.lower().replace("'", ""))


def _edit_distance(a: list[str], b: list[str]) -> int:
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def _voice_md(v: dict | None) -> str:
    if not v:
        return ""
    if "skipped" in v:
        return f"\nVoice: skipped ({v['skipped']}).\n"
    return (f"\n## Voice (optional extra)\n\n{v['utterances']} held-out requests spoken by "
            f"{v['tts']}, recognised by pocketsphinx with the catalog language model: word "
            f"error rate {v['wer']:.3f}, intent accuracy on the transcripts "
            f"{v['intent_accuracy']:.3f}, p50 {v['p50_ms']:.0f} ms per request.\n")
