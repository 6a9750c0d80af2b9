"""Reference implementations used by tests and benchmarks (PyTorch; not a runtime dependency)."""
