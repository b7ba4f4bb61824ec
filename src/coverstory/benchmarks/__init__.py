"""The benchmarks (``coverstory bench NAME``): one module per benchmark, ``run(ctx:
BenchContext) -> BenchResult``; a module whose name starts with `_` holds pieces of
benchmarks. Beside them the machinery: ``runner`` (one way to run and report),
``commands`` (the CLI face), ``scratch`` (scratch data homes), the simulated reader
(``simulator*``, ``leaks``) and ``data/`` (the conversation suite). The metrics they score
with are library code, in coverstory.eval."""
