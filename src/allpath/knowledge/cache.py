"""A per-user cache of the validated, compiled knowledge base, so that a command starts without validating it again.

Reading, validating and compiling the bundled knowledge costs a command like ``allpath assess`` about 70 ms of
its start (benchmarks/README.md); reading the finished ``KnowledgeBase`` back from a pickle costs about 25 ms.
The cache stays correct because its key is the content that made it: the bytes of every knowledge file, the
bytes of the code that validates and compiles them (the ``allpath.knowledge`` and ``allpath.domain`` modules
and ``allpath.errors``), and the versions of allpath, Python, pydantic and PyYAML. Any change to one of them
is another key, so the first start after it validates the knowledge in full again and stores the result;
nothing is ever read from an entry made from other content. A knowledge base that fails validation is never
stored (the error is raised as before).

The key is read from the files on disk, but a process runs the code it imported when it started. A process
that started before a change of that code (a server left running through an edit, a ``git pull`` or an
upgrade) would find the new code's key and store, under it, a result its old code built. So the cache is used
only when no code file of the key was written since this process started (a file's change time, which
copying or touching cannot set back, against the process's start; on a system without ``/proc`` the start is
taken as the time this module was first imported): otherwise the process validates the knowledge itself and
neither reads nor writes an entry.

Safety: a pickle runs code when it is read, so only a file that this user alone can have written is read: the
cache folder (``$XDG_CACHE_HOME/allpath`` or ``~/.cache/allpath``) is made with mode 0700, and a folder or file
owned by another user, or writable by others, is ignored, as is anything unreadable or broken. Files are
written to a temporary name and renamed, so a reader never sees half a file. ``ALLPATH_KNOWLEDGE_CACHE=off``
turns the cache off (every start validates the knowledge).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pydantic
import pydantic_core
import yaml

from allpath import __version__

Loaded = TypeVar("Loaded")
_PACKAGE = Path(__file__).resolve().parent.parent  # src/allpath
_CODE = ("knowledge", "domain")  # the packages whose code makes (and whose classes are in) the knowledge base
_KEPT_ENTRIES = 3  # older entries (other knowledge versions) beyond these are removed
_IMPORTED = time.time()  # the start of this process where the system does not tell it
_START_MARGIN = 0.1  # seconds: a file written this close to the start (clocks read apart) counts as newer


def cached(data_dir: Path, load: Callable[[Path], Loaded], kind: type[Loaded]) -> Loaded:
    """``load(data_dir)``, or the ``kind`` a former ``load`` of the same content stored (module docstring)."""
    folder = _folder()
    if folder is None or not _code_older_than_process():
        return load(data_dir)  # no cache, or code on disk that this process may not be running
    try:
        entry = folder / f"knowledge-{_key(data_dir)}.pickle"
    except OSError:
        return load(data_dir)  # a file that cannot be read: the loader says what is wrong
    found = _read(entry)
    if isinstance(found, kind):
        return found  # made by ``load`` from this very content
    result = load(data_dir)
    _write(folder, entry, result)
    return result


def switched_off(*names: str) -> bool:
    """Whether one of these environment switches (e.g. ``ALLPATH_KNOWLEDGE_CACHE``) turns a cache off."""
    return any(os.environ.get(name, "").lower() in ("off", "0", "no", "false") for name in names)


def allpath_cache_root() -> Path:
    """allpath's per-user cache folder (``$XDG_CACHE_HOME/allpath`` or ``~/.cache/allpath``), made with mode 0700
    when missing. Raises OSError or RuntimeError when there is none to be had (no home, a read-only disk)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "allpath"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _folder() -> Path | None:
    if switched_off("ALLPATH_KNOWLEDGE_CACHE"):
        return None
    try:
        folder = allpath_cache_root()
        return folder if _private(folder) else None
    except (OSError, RuntimeError):  # no home folder, a read-only file system: no cache
        return None


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else."""
    return _owned_and_private(path.stat())


def _owned_and_private(info: os.stat_result) -> bool:
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _code_files() -> list[Path]:
    """The code that validates and compiles the knowledge and whose classes the compiled result holds."""
    code = sorted(p for package in _CODE for p in (_PACKAGE / package).rglob("*.py"))
    return [*code, _PACKAGE / "errors.py"]


def _code_older_than_process() -> bool:
    """Whether every code file of the key was last written before this process started (module docstring)."""
    started = _process_started() - _START_MARGIN
    try:
        return all(max(info.st_mtime, info.st_ctime) < started for info in map(os.stat, _code_files()))
    except OSError:
        return False


def _process_started() -> float:
    """When this process started, in seconds since the epoch: on Linux its start in clock ticks after boot (proc(5),
    rounded down, so never later than the true start), else the first import of this module."""
    try:
        fields = Path("/proc/self/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5), counted after the ")" that closes field 2
        booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return booted + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc or no boot clock: not Linux
        return _IMPORTED


def _key(data_dir: Path) -> str:
    digest = hashlib.sha256()
    versions = [platform.python_implementation(), platform.python_version(), __version__]
    versions += [pydantic.VERSION, pydantic_core.__version__, yaml.__version__]
    digest.update("\0".join(versions).encode())
    files = sorted(p for p in data_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in [*files, *_code_files()]:
        content = path.read_bytes()
        digest.update(f"\0{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:32]


def _read(entry: Path) -> object | None:
    try:
        with entry.open("rb") as file:
            if not _owned_and_private(os.fstat(file.fileno())):  # the file opened, not a name swapped since
                return None
            found: object = pickle.load(file)  # noqa: S301 - this user's own file, keyed by its content
            return found
    except Exception:  # noqa: BLE001 - missing, unreadable or broken: validate the knowledge instead
        return None


def _write(folder: Path, entry: Path, result: object) -> None:
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        descriptor, temporary = tempfile.mkstemp(prefix=".knowledge-", dir=folder)  # mode 0600
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(temporary, entry)
        finally:
            Path(temporary).unlink(missing_ok=True)  # left only when the write failed
        for old in sorted(folder.glob("knowledge-*.pickle"), key=lambda p: p.stat().st_mtime)[:-_KEPT_ENTRIES]:
            old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs the next start its time
        return
