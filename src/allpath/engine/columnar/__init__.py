"""The columnar stratifier (issue 15): the knowledge base compiled into polars expressions over cohort tables."""

from allpath.engine.columnar.stratifier import Refusal, Stratifier, compile_stratifier

__all__ = ["Refusal", "Stratifier", "compile_stratifier"]
