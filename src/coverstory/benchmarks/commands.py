"""``coverstory bench NAME [--quick] [--out DIR] [--json]``: run a benchmark and write its
report to DIR (default: the data home's benchmarks/; the repository's reports: --out
docs/benchmarks)."""

from __future__ import annotations

import importlib
import pkgutil

from coverstory.errors import CommandError


# Modules of coverstory.benchmarks that are its machinery, not benchmarks (a module whose
# name starts with `_` is a piece of a benchmark, not one either).
MACHINERY = frozenset({"commands", "runner", "scratch", "simulator", "simulator_knowledge",
                       "simulator_words", "leaks"})


def available() -> list[str]:
    import coverstory.benchmarks as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)
                  if not m.name.startswith("_") and m.name not in MACHINERY)


def add_bench_arguments(p) -> None:
    p.add_argument("name", help="benchmark name (see docs/benchmarks/README.md)")
    p.add_argument("--quick", action="store_true", help="a slice that runs in about a minute")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--data", help="shared data folder (default ../shared/data)")
    p.add_argument("--out", help="results folder (default: the data home's benchmarks/; "
                   "the reports kept in the repository: --out docs/benchmarks)")
    p.add_argument("--split", choices=("dev", "test", "all"), default=None,
                   help="conversations: which part of the suite (default all); "
                        "writes NAME-dev.* / NAME-test.* for one part")
    p.add_argument("--gallery", metavar="N[,N...]", default=None,
                   help="photo: the catalog's covers plus N synthetic distractor covers "
                        "(several N: one row each); the queries stay the real photos")
    p.add_argument("--photo-index", default=None, metavar="DESIGN[,DESIGN]",
                   help="photo --gallery: voting (today's, default), two-stage, or both")
    p.add_argument("--throughput", action="store_true",
                   help="encoders: books/s and covers/s of every preset encoder, its fast "
                        "runtime beside the PyTorch path, with their agreement")


def bench(args) -> dict:
    from coverstory.benchmarks.runner import run_bench

    names = available()
    if args.name not in names:
        raise CommandError(f"unknown benchmark {args.name!r}; available: {', '.join(names)}")
    module = importlib.import_module(f"coverstory.benchmarks.{args.name}")
    if getattr(args, "gallery", None) is not None:
        if args.name != "photo":
            raise CommandError("--gallery is an option of `bench photo` only")
        from coverstory.benchmarks._photo_gallery import run_gallery    # issue 19: at scale

        return run_bench(args.name, run_gallery, args)
    return run_bench(args.name, module.run, args)
