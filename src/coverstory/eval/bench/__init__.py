"""One module per benchmark: ``run(ctx: BenchContext) -> BenchResult``."""
