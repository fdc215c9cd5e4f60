"""The UCUM library's per-user definition cache (``allpath.interfaces.fhir.unit_library``): the same factors with
and without it, and pint given only a folder that this user alone can have written (a pickle runs code)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

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
