"""The UCUM library behind ``allpath.interfaces.fhir.units``: ucumvert's parser over a pint registry of its own,
built once per process, with pint's definition cache in a private per-user folder.

Where the first conversion's time goes (benchmarks/README.md, measured on the 2-core development machine at
load 0.7, process CPU): importing pint and ucumvert about 70 ms, building pint's registry from its definition
files about 130 ms (parsing the text files 60 % of it, working out every unit's base units the rest), the UCUM
definitions 15 ms, ucumvert's grammar 30 ms (an Earley parser, which lark cannot cache). Pint can keep the
parsed definitions and the worked-out registry as pickles (its ``cache_folder``): the registry then costs about
20 ms. A conversion's result does not depend on it (``tests/fhir/test_unit_library.py`` compares every factor
with and without it).

The cache folder: ``$XDG_CACHE_HOME/allpath`` or ``~/.cache/allpath`` (the knowledge cache's folder), in it
``units-KEY``, where KEY is the SHA-256 of the versions of Python, pint, flexcache, flexparser and ucumvert and
of the bytes of the definition files. A pickle runs code when it is read, so pint is given the folder only when
the folder, its parent and every file in it belong to this user and nobody else can write them. The folder is
filled once, complete: pint writes into a new temporary folder (mode 0700, its files made 0600), which is then
renamed to ``units-KEY``; a process that finds ``units-KEY`` only reads it (the same content makes the same
files), and one that loses the race to rename leaves the other's; a folder that fails to load is removed (and
made again by the next process). ``ALLPATH_UNITS_CACHE=off`` turns this cache off, and so does
``ALLPATH_KNOWLEDGE_CACHE=off`` (every process then builds the registry from the text files). A cache that
cannot be read or written only costs the time of a build without it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import stat
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

Converter = Callable[[str, str], float | None]
"""(UCUM code, UCUM code of the record) -> how many of the record's unit one of the first is; None when the
first is no UCUM code, or one of another dimension."""

_DISTRIBUTIONS = ("pint", "flexcache", "flexparser", "ucumvert")  # whose code makes and reads the pickles
_KEPT_FOLDERS = 2  # folders of other library versions beyond these are removed


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
    ucumvert's UCUM units."""
    pint_folder = Path(str(resources.files("pint")))
    ucum = Path(str(resources.files("ucumvert") / "pint_ucum_defs.txt"))
    return [pint_folder / "default_en.txt", pint_folder / "constants_en.txt", ucum]


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
    switches = (os.environ.get(name, "").lower() for name in ("ALLPATH_KNOWLEDGE_CACHE", "ALLPATH_UNITS_CACHE"))
    if any(switch in ("off", "0", "no", "false") for switch in switches):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    parent = Path(base) / "allpath"
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(parent):
            return None
        final = parent / f"units-{_key()}"
        if final.is_dir():
            return _Cache(final, final) if _private_tree(final) else None
        return _Cache(final, Path(tempfile.mkdtemp(prefix=".units-", dir=parent)))  # mode 0700
    except (OSError, RuntimeError, ValueError):  # no home folder, a read-only file system: no cache
        return None


def _key() -> str:
    digest = hashlib.sha256()
    versions = [platform.python_implementation(), platform.python_version()]
    versions += [metadata.version(name) for name in _DISTRIBUTIONS]
    digest.update("\0".join(versions).encode())
    for path in _definition_files():
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
