"""Builders for tests: patient records, and knowledge bases with only the rules a test is about.

``record(**changes)`` is a complete, newly diagnosed B-ALL record (a field set to ``None`` is removed; response
fields may be given at the top level); ``patient(**changes)`` is the same record validated.

``knowledge(**files)`` builds a knowledge base through the real loader and schema: the shipped data files are
copied to a temporary directory, the files named in ``files`` (by stem: ``risk_groups=...``) are replaced by
the given YAML content, and the directory is loaded with ``load_knowledge``. Engine tests put their own rules
and thresholds in the files they exercise, so a content edit of the shipped file does not break them; the
helpers ``risk_rule`` and ``risk_scheme`` write such a file in a few lines.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge
from tests.conftest import complete_b_all

T = TypeVar("T")


def record(**changes: object) -> dict[str, object]:
    """A complete newly diagnosed B-ALL record with ``changes`` applied (``None`` removes a field): the
    conftest's ``complete_b_all``, without a response section that the changes emptied."""
    out: dict[str, object] = complete_b_all(**changes)
    if not out.get("response"):
        out.pop("response", None)
    return out


def patient(**changes: object) -> PatientRecord:
    """``record(**changes)`` validated as a patient record."""
    return parse_record(record(**changes))


# ---- Knowledge ---------------------------------------------------------------------------------------------

_CITE = {"section": "Risk groups for childhood acute lymphoblastic leukemia"}


def risk_rule(rule_id: str, group: str, when: Mapping[str, object]) -> dict[str, object]:
    """A rule of a fixture risk scheme: ``group`` when ``when`` holds (explanation and citation are fixed)."""
    return {
        "id": rule_id,
        "group": group,
        "when": dict(when),
        "explanation": f"Fixture rule {rule_id}.",
        "cite": _CITE,
    }


def risk_scheme(
    rules: list[dict[str, object]], *, decisive: str | Sequence[str] = ("age_years", "wbc_per_ul")
) -> dict[str, Any]:
    """risk_groups.yaml with only ``rules``: the three groups of the shipped scheme, for newly diagnosed
    children, with ``decisive`` inputs (a list, or "all")."""
    return {
        "scheme": {
            "id": "risk_group",
            "label": "Risk group (fixture)",
            "combine": "highest",
            "setting": "newly_diagnosed",
            "order": ["standard", "high", "very_high"],
            "labels": {"standard": "standard risk", "high": "high risk", "very_high": "very high risk"},
            "applies_when": {"fact": "disease_state", "eq": "newly_diagnosed"},
            "decisive": decisive if isinstance(decisive, str) else list(decisive),
            "rules": rules,
        }
    }


def knowledge(**files: Mapping[str, object]) -> KnowledgeBase:
    """The shipped knowledge base with the named data files (by stem) replaced, loaded by the real loader."""
    return _load(tuple(sorted((stem, json.dumps(content, sort_keys=True)) for stem, content in files.items())))


@cache
def _load(files: tuple[tuple[str, str], ...]) -> KnowledgeBase:
    # A knowledge base is immutable, so one per distinct set of files serves every test that asks for it.
    with tempfile.TemporaryDirectory(prefix="allpath-kb-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(default_data_dir(), data)
        for stem, content in files:
            target = data / f"{stem}.yaml"
            if not target.is_file():
                raise ValueError(f"{stem}.yaml is not a knowledge file (see {default_data_dir()})")
            target.write_text(yaml.safe_dump(json.loads(content), sort_keys=False), encoding="utf-8")
        return load_knowledge(data)


def shipped(stem: str) -> dict[str, Any]:
    """The shipped content of one knowledge file, as a dict to change and pass to ``knowledge``."""
    content: dict[str, Any] = yaml.safe_load((default_data_dir() / f"{stem}.yaml").read_text(encoding="utf-8"))
    return content


def present(value: T | None) -> T:
    """``value``, asserted to be there (a test reads into an optional part of a result it expects)."""
    assert value is not None, "expected a value, found none"
    return value
