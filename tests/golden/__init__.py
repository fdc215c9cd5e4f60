"""Golden outputs and the script that regenerates them (python tests/golden/regenerate.py)."""
