"""``coverstory bench dialogue``: simulated readers, descriptive queries, turn latency.

Protocol (seeded): 500 target books (40 with --quick) drawn from the goodbooks books of the
home's catalog; one simulated reader per target and policy (default, random-question,
popular), at most 8 turns (5 with --quick); success = the target is among the books shown.
Then the hand-written descriptive queries (data/descriptive_queries.jsonl), one fresh
session each, Hit@1 / Hit@5. Latency: wall time of every text turn of the default policy.
Sessions are written to a scratch copy of the catalog, never to the home itself.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from coverstory.eval.runner import BenchContext, BenchResult, md_table

POLICIES = ("default", "random-question", "popular")


def _services(home: Path):
    try:
        from coverstory.search.service import SearchService
    except ImportError:
        return False, "built-in term index only (coverstory.search.service not available)"
    from coverstory.dialogue.engine import SEARCH_WEIGHT

    sem = (home / "features" / "text" / "minilm-l6.pretrained.safetensors").is_file()
    return SearchService(home), (
        f"dialogue term index (BM25F) blended with SearchService.text (weight {SEARCH_WEIGHT}; "
        f"{'with' if sem else 'without'} MiniLM text features in this home)")


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.catalog import Catalog
    from coverstory.dialogue import bookindex, intents, utterances
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.eval.simulator import simulate, summarise

    cat = Catalog.open(ctx.home)
    idx = bookindex.for_home(ctx.home)
    gb = np.flatnonzero(idx.goodbooks)
    if len(gb) == 0:
        raise SystemExit(f"no goodbooks books in {ctx.home}: run `coverstory import goodbooks "
                         f"{ctx.data}/goodbooks10k` first")
    rng = np.random.default_rng(ctx.seed)
    n_targets = 40 if ctx.quick else 500
    max_turns = 5 if ctx.quick else 8
    rows = [int(r) for r in rng.choice(gb, size=min(n_targets, len(gb)), replace=False)]
    search, search_note = _services(ctx.home)
    scratch = Path(tempfile.mkdtemp(prefix="coverstory-dialogue-bench-"))
    try:
        cat.conn.execute("PRAGMA wal_checkpoint(FULL)")
        shutil.copy(cat.path, scratch / cat.path.name)
        results, raw = {}, {}
        all_ms = []
        for pol in POLICIES:
            eng = DialogueEngine(scratch, policy=pol, search=search, recommend=False, llm=False,
                                 seed=ctx.seed)
            eng._index = idx
            t0 = time.time()
            ctx.progress(f"simulating {len(rows)} readers with policy {pol}")
            res = simulate(eng, idx, rows, pol, max_turns, ctx.seed, tag="bench")
            summ = summarise(res)
            summ["seconds"] = round(time.time() - t0, 1)
            results[pol] = summ
            raw[pol] = res
            if pol == "default":
                all_ms = [m for r in res for m in r["ms"]]
            eng.close()
        # latency of the dialogue alone (no SearchService call), on the first 100 readers
        eng = DialogueEngine(scratch, policy="default", search=False, recommend=False,
                             llm=False, seed=ctx.seed)
        eng._index = idx
        own = simulate(eng, idx, rows[:100], "default", max_turns, ctx.seed, tag="bench-own")
        own_ms = [m for r in own for m in r["ms"]]
        own_summary = summarise(own)
        eng.close()
        # single-turn descriptive queries
        queries = utterances.load("descriptive_queries.jsonl")
        for q in queries:      # goodbooks ids -> this catalog's ids
            q["expected"] = [b for g in q["goodbooks_ids"]
                             if (b := cat.find_book(source=("goodbooks", str(g)))) is not None]
        if ctx.quick:
            queries = queries[:40]
        eng = DialogueEngine(scratch, policy="default", search=search, recommend=False, llm=False,
                             seed=ctx.seed, k=5)
        eng._index = idx
        h1 = h5 = 0
        split = {"dev": [0, 0, 0], "heldout": [0, 0, 0]}     # n, hit@1, hit@5
        misses = []
        q_ms = []
        for i, q in enumerate(queries):
            reply = eng.turn(f"bench-desc-{ctx.seed}-{i}", text=q["query"])
            q_ms.append(reply.ms)
            ids = reply.book_ids[:5]
            exp = set(q["expected"])
            a, b = bool(ids[:1] and ids[0] in exp), bool(exp & set(ids))
            h1 += a
            h5 += b
            part = split["dev" if i < 40 else "heldout"]
            part[0] += 1
            part[1] += a
            part[2] += b
            if not exp & set(ids):
                misses.append({"query": q["query"], "expected": q["titles"],
                               "got": [idx.titles[idx.row[b]] for b in ids]})
        eng.close()
        clf = intents.load_or_train(None)
        acc = clf.accuracy(utterances.load("intents_test.jsonl"))
        voice = _voice_eval(ctx, scratch, idx, clf, n=10 if ctx.quick else 40)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    lat = {"p50_ms": float(np.percentile(all_ms, 50)), "p95_ms": float(np.percentile(all_ms, 95)),
           "turns": len(all_ms),
           "without_search": {"p50_ms": float(np.percentile(own_ms, 50)),
                              "p95_ms": float(np.percentile(own_ms, 95)), "turns": len(own_ms),
                              "success@5": own_summary["success@5"],
                              "readers": own_summary["n"]}}
    desc = {"n": len(queries), "hit@1": h1 / max(len(queries), 1), "hit@5": h5 / max(len(queries), 1),
            "p50_ms": float(np.percentile(q_ms, 50)) if q_ms else None,
            **{f"{k}_{m}": (v[j] / v[0] if v[0] else None) for k, v in split.items()
               for j, m in ((1, "hit@1"), (2, "hit@5"))},
            "dev_n": split["dev"][0], "heldout_n": split["heldout"][0]}
    out = {"catalog_books": len(idx), "goodbooks_books": int(len(gb)), "targets": len(rows),
           "max_turns": max_turns, "text_relevance": search_note, "policies": results,
           "descriptive": desc, "latency": lat,
           "intent_heldout": {"accuracy": acc["accuracy"], "n": acc["n"]},
           "voice": voice,
           "examples": {p: [r["transcript"] for r in raw[p] if r["transcript"]][:2] for p in raw},
           "descriptive_misses": misses[:30]}
    table = md_table([{"policy": p, **{k: v for k, v in s.items()}} for p, s in results.items()],
                     ["policy", "n", "success@1", "success@3", "success@5", "success@max",
                      "mean_turns_to_success", "seconds"])
    md = (f"Catalog: {len(idx)} books ({len(gb)} goodbooks); {len(rows)} target books drawn from "
          f"the goodbooks books with seed {ctx.seed}; at most {max_turns} turns; 3 books shown per "
          f"turn; text relevance: {search_note}; recommender profile not used (fresh readers).\n\n"
          "## Simulated readers\n\n" + table +
          "\n## Single-turn descriptive queries\n\n" +
          md_table([{"queries": f"all {desc['n']}", "Hit@1": desc["hit@1"],
                     "Hit@5": desc["hit@5"], "p50 ms": desc["p50_ms"]},
                    {"queries": f"development (first {desc['dev_n']})",
                     "Hit@1": desc["dev_hit@1"], "Hit@5": desc["dev_hit@5"]},
                    {"queries": f"held out (other {desc['heldout_n']})",
                     "Hit@1": desc["heldout_hit@1"], "Hit@5": desc["heldout_hit@5"]}]) +
          "\n## Text-turn latency (default policy)\n\n" +
          md_table([{"setting": "with SearchService.text", "turns": lat["turns"],
                     "p50 ms": lat["p50_ms"], "p95 ms": lat["p95_ms"]},
                    {"setting": f"dialogue alone (first {own_summary['n']} readers; "
                                f"success@5 {own_summary['success@5']:.3f})",
                     "turns": lat["without_search"]["turns"],
                     "p50 ms": lat["without_search"]["p50_ms"],
                     "p95 ms": lat["without_search"]["p95_ms"]}]) +
          f"\nIntent classifier, hand-written held-out set: accuracy {acc['accuracy']:.3f} "
          f"on {acc['n']} utterances.\n" + _voice_md(voice))
    return BenchResult(results=out, markdown=md)


def _voice_eval(ctx: BenchContext, scratch: Path, idx, clf, n: int) -> dict | None:
    """Spoken versions (espeak-ng, voice en-us+m3) of the held-out utterances through
    pocketsphinx with the catalog language model: word error rate and intent accuracy."""
    import shutil as sh
    import subprocess

    from coverstory.dialogue import utterances, voice

    espeak = sh.which("espeak-ng")
    try:
        voice._pocketsphinx()
    except voice.VoiceUnavailable as e:
        return {"skipped": str(e)}
    if espeak is None:
        return {"skipped": "espeak-ng not installed (apt-get install -y espeak-ng)"}
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
        ref = [w for w in utterances_words(r["text"])]
        hyp = utterances_words(heard)
        errs += _edit_distance(ref, hyp)
        words += len(ref)
        ok += clf.predict(heard)[0] == r["intent"] if heard else 0
    return {"utterances": len(rows), "wer": errs / max(words, 1), "intent_accuracy": ok / len(rows),
            "p50_ms": float(np.percentile(ms, 50)), "tts": "espeak-ng en-us+m3, 130 wpm"}


def utterances_words(text: str) -> list[str]:
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
