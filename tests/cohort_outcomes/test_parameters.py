"""The generator's data file: every figure cited and tagged H or M, shares that add up, nothing unverified."""

from __future__ import annotations

import copy

import pytest
import yaml

from allpath.errors import KnowledgeError
from allpath.service.cohort.synthetic_parameters import PARAMETERS_FILE, load_parameters, parse_parameters


def _raw() -> dict[str, object]:
    loaded = yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_the_committed_file_is_valid_and_every_cited_source_is_listed() -> None:
    figures = load_parameters()
    assert figures.cited_sources() <= set(figures.sources)
    assert figures.notice.startswith("Synthetic records")


def test_an_unverified_figure_is_refused() -> None:
    raw = copy.deepcopy(_raw())
    raw["male_share"] = {**raw["male_share"], "confidence": "L"}  # type: ignore[dict-item]
    with pytest.raises(KnowledgeError, match="male_share"):
        parse_parameters(raw)


def test_a_figure_citing_an_unlisted_source_is_refused() -> None:
    raw = copy.deepcopy(_raw())
    raw["male_share"] = {**raw["male_share"], "source": "nowhere"}  # type: ignore[dict-item]
    with pytest.raises(KnowledgeError, match="nowhere"):
        parse_parameters(raw)


@pytest.mark.parametrize(("last_weight", "valid"), [(0.377, True), (0.3789, True), (0.3791, False)])
def test_shares_must_add_up_to_one_within_rounding(last_weight: float, valid: bool) -> None:
    # The genetics shares add up to 1 with 0.377 for "none_detected"; up to 0.002 off is rounding, more is an error.
    raw = copy.deepcopy(_raw())
    genetics = raw["genetics_b"]
    assert isinstance(genetics, dict)
    genetics["items"][-1]["weight"] = last_weight
    if valid:
        parse_parameters(raw)
    else:
        with pytest.raises(KnowledgeError, match="add up"):
            parse_parameters(raw)


@pytest.mark.parametrize(("value", "valid"), [(1.0, True), (1.0001, False), (0.0, True), (-0.0001, False)])
def test_a_share_lies_between_0_and_1(value: float, valid: bool) -> None:
    raw = copy.deepcopy(_raw())
    raw["male_share"] = {**raw["male_share"], "value": value}  # type: ignore[dict-item]
    if valid:
        assert parse_parameters(raw).male_share.value == value
    else:
        with pytest.raises(KnowledgeError):
            parse_parameters(raw)


def test_an_mrd_band_is_undetected_or_ordered() -> None:
    raw = copy.deepcopy(_raw())
    bands = raw["mrd_end_of_induction"]
    assert isinstance(bands, dict)
    bands["bands"][1] = {"low": 0.1, "high": 0.01, "weight": 0.19}
    with pytest.raises(KnowledgeError, match="MRD band"):
        parse_parameters(raw)
