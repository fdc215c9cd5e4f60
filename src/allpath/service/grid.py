"""The risk grid: every combination of the boundary values of the risk inputs and the groups the engine gives
them (``allpath kb grid``), the check that a knowledge change moves no group unnoticed (the committed grid).
"""

from __future__ import annotations

from allpath.engine.grid import absent_grid_csv, complete_grid_csv
from allpath.knowledge.loader import KnowledgeBase


def risk_grid_csv(kb: KnowledgeBase, *, absent: bool = False) -> str:
    """The grid as CSV: every combination of boundary values (one column per genetic finding), or with
    ``absent`` the anchor records with every subset of the risk inputs removed."""
    return absent_grid_csv(kb) if absent else complete_grid_csv(kb)
