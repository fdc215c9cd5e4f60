"""allpath benchmarks (see README.md). The modules import each other as top-level modules, so run them as
scripts (``python benchmarks/run.py``) or through ``python -m benchmarks``."""
