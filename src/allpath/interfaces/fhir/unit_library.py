"""The UCUM library behind ``allpath.interfaces.fhir.units``: ucumvert's parser over a pint registry of its own,
built once per process, with pint's definition cache in a private per-user folder; and the factors it worked
out, kept in the same folder, so that a process whose units were all converted before does not build it.

Where the first conversion's time goes (benchmarks/README.md, measured on the 2-core development machine at
load 0.7, process CPU): importing pint and ucumvert about 70 ms, building pint's registry from its definition
files about 130 ms (parsing the text files 60 % of it, working out every unit's base units the rest), the UCUM
definitions 15 ms, ucumvert's grammar 30 ms (an Earley parser, which lark cannot cache). Pint can keep the
parsed definitions and the worked-out registry as pickles (its ``cache_folder``): the registry then costs about
20 ms. A conversion's result does not depend on it (``tests/fhir/test_unit_library.py`` compares every factor
with and without it). The factors it worked out are kept per (UCUM code, record unit) pair in ``factors.json``
(only units it read, none with a UCUM annotation such as ``{cells}``, so no text of a record is written; at
most 1,024 pairs): ``allpath fhir import`` of a Bundle in units seen before then imports neither pint nor ucumvert
(0.88x the CPU of the tree before the library, benchmarks/README.md). A server worker builds the library at
start-up all the same (``units.warm``), for the units no earlier process met.

The cache folder: ``$XDG_CACHE_HOME/allpath`` or ``~/.cache/allpath`` (the knowledge cache's folder), in it
``units-KEY``, where KEY is the SHA-256 of the versions of Python, pint, flexcache, flexparser and ucumvert and
of the bytes of the definition files. A pickle runs code when it is read, so pint is given the folder only when
the folder, its parent and every file in it belong to this user and nobody else can write them. The folder is
filled once, complete: pint writes into a new temporary folder (mode 0700, its files made 0600), which is then
renamed to ``units-KEY``; a process that finds ``units-KEY`` only reads it (the same content makes the same
files), and one that loses the race to rename leaves the other's; a folder that fails to load is removed (and
made again by the next process). ``ALLPATH_UNITS_CACHE=off`` turns this cache off, and so does
``ALLPATH_KNOWLEDGE_CACHE=off`` (every process then builds the registry from the text files and keeps no
factor). ``factors.json`` is JSON, not a pickle, but a factor changes a clinical value: it is read under the
same rules (this user's alone), and only when every entry is a positive number. A cache that cannot be read or
written only costs the time of a build without it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import shutil
import stat
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from allpath.knowledge.cache import allpath_cache_root, switched_off

Converter = Callable[[str, str], float | None]
"""(UCUM code, UCUM code of the record) -> how many of the record's unit one of the first is; None when the
first is no UCUM code, or one of another dimension."""

_DISTRIBUTIONS = ("pint", "flexcache", "flexparser", "ucumvert")  # whose code makes and reads the pickles
_KEPT_FOLDERS = 2  # folders of other library versions beyond these are removed
_KEPT_FACTORS = 1024  # pairs kept per user: far more than the units a record's Quantities are sent in
_FACTORS = "factors.json"


class Library:
    """The converter of this process: the factors the library worked out before, kept per user (``factors.json``
    in the cache folder, module docstring), and the library itself, built at the first pair not among them or
    when ``load`` asks for it."""

    def __init__(self) -> None:
        self._known = _read_factors()
        self._converter: Converter | None = None

    @property
    def built(self) -> bool:
        return self._converter is not None

    def load(self) -> Converter:
        if self._converter is None:
            self._converter = build()
        return self._converter

    def factor(self, code: str, record_unit: str) -> float | None:
        """The library's factor (``Converter``), from those kept when it worked this pair out before."""
        key = f"{code}\0{record_unit}"
        if key in self._known:
            return self._known[key]
        found = self.load()(code, record_unit)
        if found is not None and "{" not in code and len(self._known) < _KEPT_FACTORS:
            # Only factors of units the library read are kept, and none with a UCUM annotation ({cells}), which
            # may hold any text: no text of a record is written to disk.
            self._known[key] = found
            _write_factors(self._known)
        return found


def build() -> Converter:
    """ucumvert's parser and transformer over a pint registry of its own with the UCUM definitions loaded.

    (ucumvert's PintUcumRegistry would also load the definitions into pint's application registry, which its
    transformer uses: twice the start-up time, and a registry shared with any other user of pint.)"""
    from ucumvert.parser import get_ucum_parser, parse_ucum
    from ucumvert.ucum_pint import UcumToPintTransformer

    transformer = UcumToPintTransformer(ureg=_registry())
    parser = get_ucum_parser()

    @lru_cache(maxsize=512)
    def factor(code: str, record_unit: str) -> float | None:
        try:
            given = transformer.transform(parse_ucum(code, parser))
            wanted = transformer.transform(parse_ucum(record_unit, parser))
            if given.dimensionality != wanted.dimensionality:
                return None
            ratio = float((given / wanted).to_base_units().magnitude)
        except Exception:  # noqa: BLE001 - any spelling the UCUM grammar or pint refuses is no unit allpath reads
            return None
        # The definitions are floating point (1 /mm3 = 1.0000000000000002 /uL): 12 significant digits are exact
        # for every UCUM factor of these units.
        return float(f"{ratio:.12g}") if ratio > 0 else None

    return factor


def _definition_files() -> list[Path]:
    """The text files the registry is built from: pint's defaults (with the constants they import) and
    ucumvert's UCUM units. Found without importing either package (the kept factors are read without them)."""
    pint_folder, ucumvert_folder = (_package_folder(name) for name in ("pint", "ucumvert"))
    return [pint_folder / "default_en.txt", pint_folder / "constants_en.txt", ucumvert_folder / "pint_ucum_defs.txt"]


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"{name} is not installed")
    return Path(spec.origin).parent


def _registry() -> object:
    """Pint's registry with the UCUM definitions, from the private cache when it may be used (module docstring);
    a cache that fails in any way gives way to a build without it."""
    import pint

    definitions = str(_definition_files()[-1])
    cache = cache_folder()
    if cache is not None:
        try:
            registry: pint.UnitRegistry[float] = pint.UnitRegistry(cache_folder=cache.reading)
            registry.load_definitions(definitions)
            cache.publish()
            return registry
        except Exception:  # noqa: BLE001 - an unreadable or broken cache: build without it
            cache.discard()
    registry = pint.UnitRegistry()
    registry.load_definitions(definitions)
    return registry


class _Cache:
    """The folder pint reads (``reading``): the finished ``units-KEY`` folder, or a new temporary one that
    ``publish`` renames to it once pint has filled it."""

    def __init__(self, final: Path, reading: Path) -> None:
        self.final = final
        self.reading = reading

    def publish(self) -> None:
        if self.reading == self.final:
            return
        try:
            for path in self.reading.iterdir():
                path.chmod(0o600)
            self.reading.rename(self.final)  # atomic; refused when another process was first
        except OSError:
            pass
        shutil.rmtree(self.reading, ignore_errors=True)  # left only when another process renamed first
        _remove_old(self.final)

    def discard(self) -> None:
        """Remove the folder pint read: a temporary one, or a finished one that failed (the next process fills
        it again)."""
        shutil.rmtree(self.reading, ignore_errors=True)


def cache_folder() -> _Cache | None:
    """The cache pint may read and write, or None when there is none this user alone controls."""
    try:
        final = _final_folder()
        if final is None:
            return None
        if final.is_dir():
            return _Cache(final, final) if _private_tree(final) else None
        return _Cache(final, Path(tempfile.mkdtemp(prefix=".units-", dir=final.parent)))  # mode 0700
    except (OSError, RuntimeError, ValueError):  # no home folder, a read-only file system: no cache
        return None


def _final_folder() -> Path | None:
    """``units-KEY`` in the private allpath cache folder (made when missing, the folder itself not), or None
    when the cache is off or the allpath folder is not this user's alone. Raises OSError, RuntimeError or
    ValueError when there is no such folder to be had."""
    if switched_off("ALLPATH_KNOWLEDGE_CACHE", "ALLPATH_UNITS_CACHE"):
        return None
    parent = allpath_cache_root()
    return parent / f"units-{_key()}" if _private(parent) else None


@lru_cache(maxsize=1)
def _key() -> str:
    """The cache's key (module docstring), worked out once per process: the installed files do not change under it."""
    digest = hashlib.sha256()
    versions = [platform.python_implementation(), platform.python_version()]
    versions += [metadata.version(name) for name in _DISTRIBUTIONS]
    digest.update("\0".join(versions).encode())
    for path in [*_definition_files(), Path(__file__)]:  # this file: how a factor is worked out and rounded
        content = path.read_bytes()
        digest.update(f"\0{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:32]


def _private(path: Path) -> bool:
    """Owned by this user, writable by nobody else, and no symbolic link."""
    info = path.lstat()
    owned = info.st_uid == os.getuid() and not stat.S_ISLNK(info.st_mode)
    return owned and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _private_tree(folder: Path) -> bool:
    """The folder and every entry in it private (``_private``), the entries plain files."""
    if not _private(folder):
        return False
    entries = list(folder.iterdir())
    return all(_private(entry) and entry.is_file() for entry in entries)


def _remove_old(kept: Path) -> None:
    """Folders of other library versions beyond the newest few (their pickles are never read again)."""
    try:
        folders = sorted(kept.parent.glob("units-*"), key=lambda p: p.stat().st_mtime)
        for old in folders[:-_KEPT_FOLDERS]:
            if old != kept:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return


def _read_factors() -> dict[str, float]:
    """The factors kept in ``factors.json``, or none when it is missing, broken or not this user's alone."""
    try:
        folder = _final_folder()
        if folder is None or not folder.is_dir() or not _private_tree(folder):
            return {}
        found = json.loads((folder / _FACTORS).read_text(encoding="utf-8"))
    except (OSError, RuntimeError, ValueError):
        return {}
    if not isinstance(found, dict) or len(found) > _KEPT_FACTORS:
        return {}
    kept = {key: value for key, value in found.items() if isinstance(value, float) and value > 0}
    return kept if len(kept) == len(found) else {}


def _write_factors(known: dict[str, float]) -> None:
    """``known`` into ``factors.json`` (mode 0600, a temporary file renamed), when the cache folder exists."""
    try:
        folder = _final_folder()
        if folder is None or not folder.is_dir() or not _private(folder):
            return
        descriptor, temporary = tempfile.mkstemp(prefix=".factors-", dir=folder)  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(known, file)
            os.replace(temporary, folder / _FACTORS)
        finally:
            Path(temporary).unlink(missing_ok=True)  # left only when the write failed
    except (OSError, RuntimeError, ValueError):  # a cache that cannot be written only costs the next start
        return
