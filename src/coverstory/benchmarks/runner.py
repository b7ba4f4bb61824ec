"""Running a benchmark the same way every time: machine, data, seed, JSON + Markdown out."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from coverstory.artifacts import benchmarks_dir
from coverstory.config import PROJECT_ROOT, data_dir, home_dir
from coverstory.tables import md_table  # noqa: F401 (the benchmark modules import it from here)


@dataclass
class BenchContext:
    """What a benchmark gets: mode, seed, where the data and a scratch home are."""

    name: str
    quick: bool
    seed: int
    data: Path            # the shared real data folder
    home: Path            # data home (features cached here are reused across runs)
    out: Path             # folder for extra artifacts (figures): <--out>/NAME/
    log: callable = print
    split: str | None = None   # benches with a dev/test split (conversations): which part
    throughput: bool = False   # bench encoders: speed of every runtime, not agreement@10
    gallery: str | None = None       # bench photo: "N[,N...]" synthetic distractors (issue 19)
    photo_index: str | None = None   # bench photo --gallery: designs compared

    def progress(self, msg: str) -> None:
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)


@dataclass
class BenchResult:
    results: dict                                   # raw figures, written as JSON
    markdown: str                                   # tables for docs, written as Markdown
    figures: list[str] = field(default_factory=list)


def machine() -> dict:
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024 // 1024
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def run_bench(name: str, fn, args) -> dict:
    """Run one benchmark and write NAME.json and NAME.md into ``args.out`` (default: the
    data home's benchmarks/ folder, never the package or the repository; the reports kept
    in the repository are written with ``--out docs/benchmarks``)."""
    quick = bool(getattr(args, "quick", False))
    home = home_dir(getattr(args, "home", None))
    out_arg = getattr(args, "out", None)
    out_root = Path(out_arg) if out_arg else benchmarks_dir(home)
    split = getattr(args, "split", None)
    throughput = bool(getattr(args, "throughput", False))
    gallery = getattr(args, "gallery", None)
    photo_index = getattr(args, "photo_index", None)
    stem = name + ("-gallery" if gallery is not None else "") + (
        f"-{split}" if split and split != "all" else "") + (
        "-throughput" if throughput else "") + ("-quick" if quick else "")
    ctx = BenchContext(name=name, quick=quick, seed=int(getattr(args, "seed", 0)),
                       data=data_dir(getattr(args, "data", None)),
                       home=home,
                       out=out_root / stem, split=split, throughput=throughput,
                       gallery=gallery, photo_index=photo_index)
    ctx.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    result: BenchResult = fn(ctx)
    seconds = time.time() - t0
    command = "coverstory bench " + name + (" --throughput" if throughput else "") + (
        " --quick" if quick else "") + (f" --split {split}" if split else "") + (
        f" --seed {ctx.seed}" if ctx.seed else "") + (
        f" --gallery {gallery}" if gallery is not None else "") + (
        f" --photo-index {photo_index}" if photo_index else "") + (
        f" --out {_shown(out_arg)}" if out_arg else "")
    meta = {"benchmark": name, "quick": quick, "seed": ctx.seed, "split": split, "command": command,
            "argv": " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "seconds": round(seconds, 1),
            "machine": machine(), "data": str(ctx.data)}
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "results": result.results}, indent=2, default=_default))
    m = meta["machine"]
    header = (f"# Benchmark: {name}{' --throughput' if throughput else ''}"
              f"{' (quick)' if quick else ''}\n\n"
              f"Command: `{command}` · seed {ctx.seed} · {meta['date']} · "
              f"{m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, no GPU · "
              f"ran {seconds:.0f} s · data: ../shared/data\n\n")
    (out_root / f"{stem}.md").write_text(header + result.markdown.strip() + "\n")
    return {"benchmark": name, "quick": quick, "seconds": round(seconds, 1),
            "json": str(out_root / f"{stem}.json"), "markdown": str(out_root / f"{stem}.md"),
            "results": result.results,
            "text": header + result.markdown}


def _shown(out) -> str:
    """``--out`` as the report records it: relative to the repository when inside it (so a
    report written to docs/benchmarks says ``--out docs/benchmarks`` from any directory)."""
    path = Path(out).resolve()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(out)


def _default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    return str(o)

