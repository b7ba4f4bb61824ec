"""``coverstory bench fusion_paper``: the paper's evaluations 1, 2, 3 and 5 in one single-seed
run (genre with every fusion strategy incl. CBAM, reader needs, retrieval, β sweep, figures).

Its genre "best" rows are maxima over test accuracy, so they are not the figures to quote:
``coverstory bench fusion`` is the fair protocol (validation-selected, 5 seeds).
"""

from __future__ import annotations

from coverstory.benchmarks._fusion_paper import paper_run as run  # noqa: F401
