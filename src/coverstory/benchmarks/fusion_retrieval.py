"""``coverstory bench fusion_retrieval``: cross-modal retrieval, the figure to quote.

(a) cover <-> "title by author" on 1,000 test Book Depository covers under the fair protocol
of issues 16.2 and 17 (``_retrieval_fair``: validation-chosen, 5 seeds, the old method as a
row on the same candidates); it reads (and stores in the catalog) the OCR of every candidate
cover it needs. (b) goodbooks covers vs descriptions, as in ``bench fusion_paper`` (one seed,
the Lite0 vector from the feature cache).
"""

from __future__ import annotations

from coverstory.artifacts import COVER_FEATURE
from coverstory.benchmarks.runner import BenchContext, BenchResult


def run(ctx: BenchContext) -> BenchResult:
    import torch

    from coverstory.catalog import Catalog
    from coverstory.benchmarks._fusion_common import DESC, TITLE, _ensure
    from coverstory.benchmarks._fusion_paper import _retrieval_b, _retrieval_table
    from coverstory.benchmarks._retrieval_fair import run_fair
    from coverstory.fusion.datasets import genre_task

    torch.set_num_threads(1)
    cat = Catalog.open(ctx.home)
    task = genre_task(cat, ctx.data, seed=ctx.seed)
    _ensure(ctx, ctx.home, task, TITLE)
    ra, md = run_fair(ctx, ctx.home, cat, task, read_missing=True)
    res = {"a_bookdepository_title": ra}
    _ensure(ctx, ctx.home, task, DESC)
    rb = _retrieval_b(ctx, ctx.home, cat, image=COVER_FEATURE)
    res["b_goodbooks_description"] = rb
    md += (f"\n(b) {rb['n']} goodbooks test covers vs their descriptions (EfficientNet-Lite0 "
           f"vector, projection trained on {rb['n_train']} pairs; chance R@1 "
           f"{rb['chance_R@1']:.2f}; one seed).\n\n" + _retrieval_table(rb))
    res["protocol"] = {"split": "by book and title+author, 80/10/10, split seed = bench seed",
                       "seed": ctx.seed, "description_feature": DESC}
    return BenchResult(results=res, markdown=md)
