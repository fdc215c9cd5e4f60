"""The UCUM library's per-user definition cache (``allpath.interfaces.fhir.unit_library``): the same factors with
and without it, and pint given only a folder that this user alone can have written (a pickle runs code)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allpath.interfaces.fhir import unit_library
from allpath.knowledge.loader import load_knowledge

UNITS = load_knowledge().units
RECORD_UNITS = sorted({q.ucum for q in UNITS.quantities.values()})
# Every UCUM code units.yaml names, the record's units, and the spellings of the tests and the Synthea bundles
# (some in another dimension, some no UCUM code at all: those must stay None).
CODES = sorted(
    {a.ucum for a in UNITS.aliases}
    | set(RECORD_UNITS)
    | {"10*9/L", "10*3/uL", "/mm3", "[lb_av]", "[oz_av]", "[in_i]", "[ft_i]", "g", "ug", "cGy", "mGy", "wk", "d"}
    | {"h", "min", "mo", "a", "kg/m2", "g/L", "mmol/L", "K/uL", "cells", "{cells}/uL", "1", "m2", "mg/kg", "[degF]"}
)


def _factors(converter: unit_library.Converter) -> dict[tuple[str, str], float | None]:
    return {(code, unit): converter(code, unit) for code in CODES for unit in RECORD_UNITS}


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache folder of this test's own, the cache on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ALLPATH_KNOWLEDGE_CACHE", raising=False)
    monkeypatch.delenv("ALLPATH_UNITS_CACHE", raising=False)
    yield tmp_path / "cache" / "allpath"


def _units_folder(cache_home: Path) -> Path:
    [folder] = cache_home.glob("units-*")
    return folder


def test_every_factor_is_the_same_without_the_cache_when_filling_it_and_when_reading_it(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled = _factors(unit_library.build())  # no cache yet: pint fills one
    folder = _units_folder(cache_home)
    assert sorted(p.suffix for p in folder.iterdir()).count(".pickle") >= 2
    read_back = _factors(unit_library.build())  # from the cache
    monkeypatch.setenv("ALLPATH_KNOWLEDGE_CACHE", "off")
    without = _factors(unit_library.build())
    assert filled == read_back == without
    assert without[("10*9/L", "/uL")] == 1000.0 and without[("[lb_av]", "kg")] == 0.45359237
    assert without[("K/uL", "/uL")] is None and without[("g/L", "/uL")] is None  # no UCUM unit of that kind


def test_the_cache_is_private_folder_0700_files_0600(cache_home: Path) -> None:
    unit_library.build()
    folder = _units_folder(cache_home)
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert not list(cache_home.glob(".units-*"))  # the temporary folder was renamed, nothing left over


def test_a_filled_cache_is_read_as_it_is(cache_home: Path) -> None:
    unit_library.build()
    cache = unit_library.cache_folder()
    assert cache is not None and cache.reading == cache.final == _units_folder(cache_home)


@pytest.mark.parametrize("switch", ["ALLPATH_UNITS_CACHE", "ALLPATH_KNOWLEDGE_CACHE"])
def test_the_switch_turns_the_cache_off(cache_home: Path, monkeypatch: pytest.MonkeyPatch, switch: str) -> None:
    monkeypatch.setenv(switch, "off")
    assert unit_library.cache_folder() is None
    unit_library.build()
    assert not cache_home.exists() or not list(cache_home.glob("units-*"))


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_a_file_others_can_write_makes_the_folder_unused(cache_home: Path, mode: int) -> None:
    unit_library.build()
    pickle_file = next(_units_folder(cache_home).glob("*.pickle"))
    pickle_file.chmod(0o600)  # the limit: still used
    assert unit_library.cache_folder() is not None
    pickle_file.chmod(mode)  # one past it: group or others may write
    assert unit_library.cache_folder() is None


@pytest.mark.parametrize("mode", [0o770, 0o707])
def test_a_folder_others_can_write_is_not_used(cache_home: Path, mode: int) -> None:
    unit_library.build()
    folder = _units_folder(cache_home)
    folder.chmod(mode)
    assert unit_library.cache_folder() is None
    folder.chmod(0o700)
    cache_home.chmod(mode)  # the allpath folder around it
    assert unit_library.cache_folder() is None


def test_a_symbolic_link_in_the_folder_makes_it_unused(cache_home: Path, tmp_path: Path) -> None:
    unit_library.build()
    folder = _units_folder(cache_home)
    target = next(folder.glob("*.pickle"))
    elsewhere = tmp_path / "elsewhere.pickle"
    elsewhere.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(elsewhere)
    assert unit_library.cache_folder() is None


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_makes_the_folder_unused(cache_home: Path) -> None:
    unit_library.build()
    pickle_file = next(_units_folder(cache_home).glob("*.pickle"))
    os.chown(pickle_file, 65534, -1)  # nobody
    assert unit_library.cache_folder() is None
    os.chown(pickle_file, os.getuid(), -1)
    assert unit_library.cache_folder() is not None


def test_a_broken_cache_gives_the_same_factors_and_is_made_again(cache_home: Path) -> None:
    expected = _factors(unit_library.build())
    for pickle_file in _units_folder(cache_home).glob("*.pickle"):
        pickle_file.write_bytes(b"not a pickle")
    assert _factors(unit_library.build()) == expected  # built without the cache
    assert not list(cache_home.glob("units-*"))  # the broken folder is gone ...
    assert _factors(unit_library.build()) == expected
    folder = _units_folder(cache_home)  # ... and made again, whole
    assert all(p.read_bytes() != b"not a pickle" for p in folder.glob("*.pickle"))


# ---- the factors kept per user (factors.json) ----------------------------------------------------------------


def _no_build() -> unit_library.Converter:
    raise AssertionError("the library was built although every factor was kept")


def test_the_kept_factors_are_the_librarys_and_a_new_process_converts_without_building_it(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = unit_library.Library()
    worked_out = {(code, unit): first.factor(code, unit) for code in CODES for unit in RECORD_UNITS}
    assert first.built
    monkeypatch.setenv("ALLPATH_UNITS_CACHE", "off")
    assert worked_out == _factors(unit_library.build())  # the library's own factors, without any cache
    monkeypatch.delenv("ALLPATH_UNITS_CACHE")
    kept = _units_folder(cache_home) / "factors.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    converted = {pair: value for pair, value in worked_out.items() if value is not None and "{" not in pair[0]}
    assert worked_out[("{cells}/uL", "/uL")] == 1.0
    # Neither refused spellings nor annotated codes ({cells}: an annotation may hold any text) are kept.
    assert len(json.loads(kept.read_text(encoding="utf-8"))) == len(converted)
    monkeypatch.setattr(unit_library, "build", _no_build)
    second = unit_library.Library()  # as in the next process
    assert {pair: second.factor(*pair) for pair in converted} == converted
    assert not second.built


def test_a_pair_not_kept_builds_the_library(cache_home: Path) -> None:
    unit_library.Library().factor("10*9/L", "/uL")
    second = unit_library.Library()
    assert second.factor("10*9/L", "/uL") == 1000.0 and not second.built
    assert second.factor("[lb_av]", "kg") == 0.45359237 and second.built
    assert second.factor("K/uL", "/uL") is None  # no UCUM unit: answered by the library, never kept
    assert second.factor("10*3{cells}/uL", "/uL") == 1000.0  # converted, not kept
    kept = (_units_folder(cache_home) / "factors.json").read_text(encoding="utf-8")
    assert "K/uL" not in kept and "{" not in kept.replace('{"', "", 1)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda kept: kept.chmod(0o620),  # others may write it
        lambda kept: kept.write_text('{"10*9/L\\u0000/uL": 999.0', encoding="utf-8"),  # broken JSON
        lambda kept: kept.write_text('{"10*9/L\\u0000/uL": 999}', encoding="utf-8"),  # not a float
        lambda kept: kept.write_text('{"10*9/L\\u0000/uL": -1.0}', encoding="utf-8"),  # not a factor
        lambda kept: kept.write_text('["10*9/L", 999.0]', encoding="utf-8"),  # not an object
    ],
)
def test_kept_factors_that_are_not_this_users_alone_or_not_factors_are_not_read(cache_home: Path, spoil: Any) -> None:
    unit_library.Library().factor("10*9/L", "/uL")
    kept = _units_folder(cache_home) / "factors.json"
    spoil(kept)
    again = unit_library.Library()
    assert again.factor("10*9/L", "/uL") == 1000.0 and again.built  # worked out by the library again


def test_a_private_file_of_this_user_is_read_as_it_is(cache_home: Path) -> None:
    """The limit of what the rules refuse: a private file of this user is trusted (only this user can have
    written it), and read as it is."""
    unit_library.Library().factor("10*9/L", "/uL")
    kept = _units_folder(cache_home) / "factors.json"
    kept.write_text(json.dumps({"10*9/L\0/uL": 1000.0, "[lb_av]\0kg": 0.45359237}), encoding="utf-8")
    kept.chmod(0o600)
    again = unit_library.Library()
    assert again.factor("[lb_av]", "kg") == 0.45359237 and not again.built


def test_more_factors_than_kept_are_not_read(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unit_library.Library().factor("10*9/L", "/uL")
    kept = _units_folder(cache_home) / "factors.json"
    monkeypatch.setattr(unit_library, "_KEPT_FACTORS", 2)
    kept.write_text(json.dumps({"a\0b": 1.0, "10*9/L\0/uL": 1000.0}), encoding="utf-8")
    assert unit_library.Library().factor("10*9/L", "/uL") == 1000.0  # at the limit: read ...
    kept.write_text(json.dumps({"a\0b": 1.0, "c\0d": 2.0, "10*9/L\0/uL": 999.0}), encoding="utf-8")
    monkeypatch.setattr(unit_library, "build", _no_build)
    with pytest.raises(AssertionError, match="was built"):  # ... one past it: not read, the library asked
        unit_library.Library().factor("10*9/L", "/uL")
