"""Benchmarks that print numbers; not imported by the runtime code."""
