"""The benchmark harness: `make bench` (`python -m bench`).

Every figure is a ratio to a baseline measured in the same run, because machines are
noisy and only ratios travel between them; DynamoDB figures are request units, not
seconds. Sections live in `bench/sections/` and register themselves with
`bench.registry.section`; see docs/benchmarks.md.

Kept free of imports: the cold-import section imports `bench.baseline_app` in a fresh
interpreter, and this package's `__init__` is part of what that measures.
"""
