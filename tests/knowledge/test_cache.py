"""The per-user cache of the validated knowledge base (``allpath.knowledge.cache``): the same answers as a
fresh load, a new entry for any change of content, and nothing read that this user alone could not have
written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.errors import KnowledgeError
from allpath.knowledge import cache
from allpath.knowledge.loader import KnowledgeBase, _load, default_data_dir
from allpath.service.records import care_overview

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ALLPATH_KNOWLEDGE_CACHE", raising=False)
    # These tests are about the content key. In the shared checkout an edit of the knowledge code while the suite
    # runs would (rightly) turn the cache off for this older process; the tests below that are about that check
    # set the start themselves.
    started = time.time()
    monkeypatch.setattr(cache, "_process_started", lambda: started)
    return tmp_path / "cache" / "allpath"


def _records(path: Path) -> list[dict[str, object]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, list) else [data]


def _counting(calls: list[Path]) -> Callable[[Path], KnowledgeBase]:
    def load(data_dir: Path) -> KnowledgeBase:
        calls.append(data_dir)
        return _load(data_dir)

    return load


def test_a_cached_knowledge_base_answers_every_example_as_a_fresh_load(folder: Path) -> None:
    calls: list[Path] = []
    fresh = cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)  # validates and stores
    again = cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)  # read back from the pickle
    assert len(calls) == 1 and again is not fresh
    assert list(folder.glob("knowledge-*.pickle")) and again.version == fresh.version
    assert again.version == _load(default_data_dir()).version
    assessed = 0
    for example in EXAMPLES:
        for raw in _records(example):
            try:
                record = parse_record(raw)
            except Exception:  # noqa: BLE001, S112 - the examples of invalid records have no assessment
                continue
            assert json.dumps(assess(record, again)) == json.dumps(assess(record, fresh)), example.name
            # the treatment views too (roadmap, the doses of every phase, survivorship): they read the
            # compiled drug lines and notes of the therapy knowledge
            overview = {**raw, "weight_kg": raw.get("weight_kg", 20.0), "height_cm": raw.get("height_cm", 110.0)}
            assert json.dumps(care_overview(again, overview, start=date(2026, 1, 5))) == json.dumps(
                care_overview(fresh, overview, start=date(2026, 1, 5))
            ), example.name
            assessed += 1
    assert assessed >= 20


def test_the_drug_lines_for_an_age_survive_the_cache(folder: Path) -> None:
    """The conditions of the drug lines are found by the line object (``TherapyKnowledge.line_fits_age``):
    after the round trip through the pickle each line still finds its own."""
    fresh = cache.cached(default_data_dir(), _load, KnowledgeBase)
    again = cache.cached(default_data_dir(), _load, KnowledgeBase)
    assert again is not fresh
    lines = [
        (fresh_line, again_line)
        for fresh_regimen, again_regimen in zip(
            fresh.therapy.regimens.regimens, again.therapy.regimens.regimens, strict=True
        )
        for fresh_phase, again_phase in zip(fresh_regimen.phases, again_regimen.phases, strict=True)
        for fresh_line, again_line in zip(fresh_phase.drugs, again_phase.drugs, strict=True)
        if fresh_line.when is not None
    ]
    assert lines  # the bundled regimens have lines for some ages only
    for age in (0.5, 1.0, 9.99, 10.0, 15.0, 25.0):
        for fresh_line, again_line in lines:
            assert again.therapy.line_fits_age(again_line, age) == fresh.therapy.line_fits_age(fresh_line, age)


def test_a_changed_knowledge_file_is_validated_again(folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(default_data_dir(), data)
    calls: list[Path] = []
    first = cache.cached(data, _counting(calls), KnowledgeBase)
    settings = data / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n# a comment: other bytes\n", encoding="utf-8")
    cache.cached(data, _counting(calls), KnowledgeBase)
    assert len(calls) == 2  # one byte more is another key
    assert len(list(folder.glob("knowledge-*.pickle"))) == 2
    settings.write_text("not: [valid", encoding="utf-8")
    with pytest.raises(KnowledgeError):  # an invalid base is refused as before, never served from the cache
        cache.cached(data, _counting(calls), KnowledgeBase)
    assert first.version


def test_changed_code_is_another_key(folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = cache._key(default_data_dir())
    package = tmp_path / "allpath"
    for part in cache._CODE:
        shutil.copytree(cache._PACKAGE / part, package / part)
    shutil.copy(cache._PACKAGE / "errors.py", package / "errors.py")
    monkeypatch.setattr(cache, "_PACKAGE", package)
    assert cache._key(default_data_dir()) == before
    compiled = package / "knowledge" / "compiled.py"
    compiled.write_text(compiled.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert cache._key(default_data_dir()) != before


def test_an_entry_others_could_have_written_is_not_read(folder: Path) -> None:
    calls: list[Path] = []
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    (entry,) = folder.glob("knowledge-*.pickle")
    entry.chmod(0o622)  # writable by the group and others
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 2
    folder.chmod(0o777)  # a folder others can write to: no cache at all
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 3
    folder.chmod(0o700)


def test_a_broken_entry_is_validated_again(folder: Path) -> None:
    calls: list[Path] = []
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    (entry,) = folder.glob("knowledge-*.pickle")
    entry.write_bytes(entry.read_bytes()[:1000])
    kb = cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 2 and isinstance(kb, KnowledgeBase)
    assert oct(entry.stat().st_mode & 0o777) == "0o600" and oct(folder.stat().st_mode & 0o777) == "0o700"


def test_the_cache_can_be_turned_off(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLPATH_KNOWLEDGE_CACHE", "off")
    calls: list[Path] = []
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 2 and not folder.exists()


def _copy_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the code of the key, which the cache is then pointed at (so the test may change it)."""
    package = tmp_path / "allpath"
    for part in cache._CODE:
        shutil.copytree(cache._PACKAGE / part, package / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(cache._PACKAGE / "errors.py", package / "errors.py")
    monkeypatch.setattr(cache, "_PACKAGE", package)
    return package


def test_a_process_started_before_its_code_changed_neither_reads_nor_writes_an_entry(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = _copy_code(tmp_path, monkeypatch)
    calls: list[Path] = []
    monkeypatch.setattr(cache, "_process_started", lambda: time.time() + cache._START_MARGIN + 1)  # after the copy
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    (entry,) = folder.glob("knowledge-*.pickle")
    written = entry.stat().st_mtime_ns
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 1  # a process younger than its code: the cache serves

    started = time.time() - cache._START_MARGIN - 1
    monkeypatch.setattr(cache, "_process_started", lambda: started)
    compiled = package / "knowledge" / "compiled.py"
    compiled.write_text(compiled.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # written after the start
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 2  # the entry of the code it may be running is not read ...
    assert list(folder.glob("knowledge-*.pickle")) == [entry] and entry.stat().st_mtime_ns == written  # ... nor written

    monkeypatch.setattr(cache, "_process_started", lambda: time.time() + cache._START_MARGIN + 1)  # a new process
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 3  # the changed code is another key: the old entry is ignored ...
    assert len(list(folder.glob("knowledge-*.pickle"))) == 2  # ... and the new code's result stored beside it
    cache.cached(default_data_dir(), _counting(calls), KnowledgeBase)
    assert len(calls) == 3


def test_a_code_file_written_a_moment_before_the_start_counts_as_newer(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The file's time and the process's start come from clocks read apart: a file written within the margin
    before the start might have been written after it, so it turns the cache off; one just past it does not."""
    package = _copy_code(tmp_path, monkeypatch)
    errors = package / "errors.py"
    changed = max(errors.stat().st_mtime, errors.stat().st_ctime)
    monkeypatch.setattr(cache, "_process_started", lambda: changed + cache._START_MARGIN)
    assert not cache._code_older_than_process()  # at the margin
    monkeypatch.setattr(cache, "_process_started", lambda: changed + cache._START_MARGIN + 0.01)
    assert cache._code_older_than_process()  # one step past it


def test_the_process_start_is_read_from_the_system() -> None:
    started = cache._process_started()
    assert time.time() - 24 * 3600 < started <= time.time()
    if Path("/proc/self/stat").exists():  # Linux: the process's own start, before this module was imported
        assert started <= cache._IMPORTED + 0.1


_STARTED_OLD = """
import sys
from allpath.knowledge import cache, loader
print("ready", flush=True)
sys.stdin.readline()  # the test changes the code on disk now: this process keeps running the old code
print(loader.load_knowledge().version)
print(cache._code_older_than_process())
"""

_NEW_CODE = """

_built_by_old_code = _load


def _load(data_dir: Path, locale: str = SOURCE_LOCALE) -> KnowledgeBase:  # the changed code builds another result
    from dataclasses import replace

    return replace(_built_by_old_code(data_dir, locale), version="built by the changed code")
"""


def _allpath(copy: Path, cache_home: Path, script: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(copy), "XDG_CACHE_HOME": str(cache_home)}
    environment.pop("ALLPATH_KNOWLEDGE_CACHE", None)
    return subprocess.Popen(  # noqa: S603 - this Python, running the script above
        [sys.executable, "-B", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=copy,
    )


def _answer(process: subprocess.Popen[str]) -> list[str]:
    output, _ = process.communicate("go\n", timeout=120)
    assert process.returncode == 0
    return output.split()


def _after_the_margin() -> None:
    time.sleep(cache._START_MARGIN + 0.2)


def test_the_cache_never_serves_a_result_built_by_other_code(tmp_path: Path) -> None:
    """Real processes over a copy of allpath whose loader is changed while one of them runs: the process started
    before the change (running the old code) stores nothing, a process of the new code gets the new code's result
    and, after the change is undone, the old code's result again, never the other's."""
    copy = tmp_path / "src"
    shutil.copytree(cache._PACKAGE, copy / "allpath", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "cache"
    entries = home / "allpath"
    loader = copy / "allpath" / "knowledge" / "loader.py"
    original = loader.read_text(encoding="utf-8")
    _after_the_margin()

    first = _answer(
        _allpath(copy, home, "from allpath.knowledge import loader; print(loader.load_knowledge().version)")
    )
    assert len(list(entries.glob("knowledge-*.pickle"))) == 1
    old = _allpath(copy, home, _STARTED_OLD)
    assert old.stdout is not None and old.stdout.readline().strip() == "ready"  # it has imported the old code
    loader.write_text(original + _NEW_CODE, encoding="utf-8")
    assert _answer(old) == [*first, "False"]  # its own code's result, not read from the cache
    assert len(list(entries.glob("knowledge-*.pickle"))) == 1  # and not stored under the new code's key

    _after_the_margin()
    new = "from allpath.knowledge import loader; print(loader.load_knowledge().version)"
    assert _answer(_allpath(copy, home, new)) == ["built", "by", "the", "changed", "code"]
    assert len(list(entries.glob("knowledge-*.pickle"))) == 2
    assert _answer(_allpath(copy, home, new)) == ["built", "by", "the", "changed", "code"]  # now from the cache

    loader.write_text(original, encoding="utf-8")
    _after_the_margin()
    assert _answer(_allpath(copy, home, new)) == first  # the old code's entry, made by the old code
