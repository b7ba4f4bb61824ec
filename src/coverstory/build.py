"""``coverstory build TARGET``: each target maps to the library function that builds it."""

from __future__ import annotations

import importlib

from coverstory.cli import CommandError

# target -> (module, function, help). Each function takes argparse args, returns a dict.
TARGETS: dict[str, tuple[str, str, str]] = {
    "features": ("coverstory.encoders.commands", "build_features",
                 "extract (cached) features of every book for an encoder"),
    "ocr": ("coverstory.encoders.commands", "build_ocr", "read the text printed on every cover"),
    "fusion": ("coverstory.fusion.commands", "build_fusion",
               "train a fusion model and export fused book vectors"),
    "index": ("coverstory.search.commands", "build_index", "build the search indexes"),
    "recommender": ("coverstory.recommend.commands", "build_recommender",
                    "fit the recommender on the catalog's ratings"),
    "intents": ("coverstory.dialogue.commands", "build_intents", "train the intent classifier"),
}
ALL = ["features", "index", "recommender", "intents"]


def add_build_arguments(p) -> None:
    p.add_argument("target", choices=[*TARGETS, "all"], help="what to build ('all' = demo set)")
    p.add_argument("--encoder", action="append", help="encoder name(s) for 'features'")
    p.add_argument("--method", help="fusion strategy or recommender name")
    p.add_argument("--quick", action="store_true", help="a small slice, for smoke tests")
    p.add_argument("--limit", type=int, help="at most N books (features, ocr)")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")


def build(args) -> dict:
    targets = ALL if args.target == "all" else [args.target]
    results = {}
    for t in targets:
        module, func, _ = TARGETS[t]
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ModuleNotFoundError, AttributeError) as e:
            raise CommandError(f"build target {t!r} is not available in this build ({e})") from e
        results[t] = fn(args)
    text = "\n".join(f"{t}: {r.get('text', r) if isinstance(r, dict) else r}"
                     for t, r in results.items())
    return {"built": results, "text": text}
