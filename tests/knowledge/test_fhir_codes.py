"""``fhir_codes.yaml`` is part of the knowledge base: loaded and validated by the loader, counted in the version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from allpath.errors import KnowledgeError
from allpath.interfaces.fhir import codes
from allpath.knowledge.loader import default_data_dir, load_knowledge


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    return copy


def test_a_changed_fhir_code_changes_the_knowledge_version(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    original = load_knowledge(copy).version
    path = copy / "fhir_codes.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'code: "91857003"' in text
    path.write_text(text.replace('code: "91857003"', 'code: "91857004"'), encoding="utf-8")
    changed = load_knowledge(copy)
    assert changed.version != original
    codings = changed.fhir_codes.concepts["acute_lymphoblastic_leukemia"].codings
    assert [c.code for c in codings] == ["91857004"]


def test_a_coding_in_a_system_that_is_not_registered_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "fhir_codes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{system: snomed, code:", "{system: snowmed, code:", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="fhir_codes.yaml.*snowmed"):
        load_knowledge(copy)


def test_an_unknown_key_in_the_codes_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "fhir_codes.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  b_all:\n    display:", "  b_all:\n    dispaly: x\n    display:"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="fhir_codes.yaml"):
        load_knowledge(copy)


def test_the_fhir_mapping_uses_the_codes_of_the_loaded_knowledge_base() -> None:
    loaded = load_knowledge().fhir_codes
    assert codes.LOCAL_SYSTEM == loaded.local_system
    assert codes.SYSTEMS == loaded.systems
    snomed = loaded.systems["snomed"]
    assert codes.lookup().concept_of([{"system": snomed, "code": "91857003"}]) == "acute_lymphoblastic_leukemia"
