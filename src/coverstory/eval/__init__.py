"""Metrics, protocols, benchmarks and the simulated reader."""
