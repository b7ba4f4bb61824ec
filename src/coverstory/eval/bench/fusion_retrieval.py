"""``coverstory bench fusion_retrieval``: evaluation 3 of ``bench fusion`` on its own.

The same code as section 3 of ``coverstory bench fusion`` (``_fusion_paper.retrieval``), but it
reads (and stores in the catalog) the OCR of every cover it needs instead of using only the
OCR already in the catalog, so it is the figure to quote for retrieval (a).
"""

from __future__ import annotations

from coverstory.eval.runner import BenchContext, BenchResult


def run(ctx: BenchContext) -> BenchResult:
    import torch

    from coverstory.catalog import Catalog
    from coverstory.eval.bench._fusion_common import DESC, TITLE, _ensure
    from coverstory.eval.bench._fusion_paper import retrieval
    from coverstory.fusion.datasets import genre_task

    torch.set_num_threads(1)
    cat = Catalog.open(ctx.home)
    task = genre_task(cat, ctx.data, seed=ctx.seed)
    _ensure(ctx, ctx.home, task, TITLE)
    res, md = retrieval(ctx, ctx.home, cat, task, read_missing=True)
    res["protocol"] = {"split": "as bench fusion (by book, 80/10/10, seed)",
                       "seed": ctx.seed, "description_feature": DESC}
    return BenchResult(results=res, markdown=md)
