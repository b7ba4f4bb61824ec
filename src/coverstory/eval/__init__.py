"""Metrics: pure functions for ranking, retrieval and classification, shared by the models'
tuning code and the benchmarks (coverstory.benchmarks)."""
