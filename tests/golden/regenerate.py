"""Regenerate the golden outputs of the example patients.

Usage (from the repository root, with the project's virtual environment active)::

    python tests/golden/regenerate.py

For every example ``examples/<stem>.json`` this writes ``tests/golden/examples/<stem>.json`` (what
``allpath assess examples/<stem>.json --format json`` prints) and ``tests/golden/examples/<stem>.txt``
(``--format text``), with the two volatile values normalised (see ``normalise``). It renders in process,
exactly as the CLI does, so a golden file equals the CLI's output after normalisation. It also rebuilds
``examples/all.json`` (every example record, in file-name order) and removes golden files whose example
is gone. Review the diff (``git diff tests/golden examples/all.json``) before committing: every change
in a golden file is a change in what a clinician or a family reads.

It also writes the golden treatment roadmaps of ``ROADMAP_EXAMPLES``, dated from ``ROADMAP_START``:
``tests/golden/roadmaps/<stem>.roadmap.json`` (``allpath roadmap examples/<stem>.json --start 2026-01-05``,
versions normalised), ``tests/golden/roadmaps/<stem>.ics`` (the same with ``--format ics``, CRLF lines
as the command writes them) and ``tests/golden/roadmaps/<stem>.doses.txt`` (``allpath doses --format text``
of every phase of the regimen, from the record's own start day).

And the golden survivorship plans of ``tests/golden/survivorship_cases.py`` (exposure sets on both sides of
every threshold of survivorship.yaml): ``tests/golden/survivorship/<case>.json`` (``write_survivorship``).
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDEN_EXAMPLES = ROOT / "tests" / "golden" / "examples"
COHORT = "all"  # examples/all.json bundles the other examples; it is not an example of its own
FORMATS = ("json", "txt")

GOLDEN_EXAMPLES_ES = ROOT / "tests" / "golden" / "examples_es"
"""The family report in Spanish of every example (``allpath assess EXAMPLE --format text --lang es``), issue 14."""

GOLDEN_ROADMAPS = ROOT / "tests" / "golden" / "roadmaps"
ROADMAP_EXAMPLES = ("standard_risk", "high_risk_age", "on_treatment")
ROADMAP_START = "2026-01-05"
ROADMAP_SUFFIXES = ("roadmap.json", "ics", "doses.txt")

KNOWLEDGE_VERSION = "<knowledge_version>"
ENGINE_VERSION = "<engine_version>"

_JSON_VERSIONS = re.compile(r'"(knowledge_version|engine_version)"(\s*:\s*)"[^"]*"')
# The text report ends with "Knowledge version kb-..., engine version X.Y.Z." The plain-text renderer wraps
# lines, so a line break may fall between any two words of that sentence, or after the hyphen of "kb-".
# Whitespace inside the sentence is collapsed so that the normalised text does not depend on the versions.
_REPORT_VERSIONS = re.compile(r"Knowledge\s+version\s+[^\s,]+(?:\n[^\s,]+)?,\s+engine\s+version\s+\S+?\.(?=\s*$)")


def example_paths() -> list[Path]:
    """The example patient files, in file-name order (examples/all.json excluded)."""
    return sorted(p for p in EXAMPLES.glob("*.json") if p.stem != COHORT)


_REPORT_VERSIONS_ES = re.compile(
    r"Versión\s+del\s+conocimiento\s+[^\s,]+(?:\n[^\s,]+)?,\s+versión\s+del\s+motor\s+\S+?\.(?=\s*$)"
)


def normalise_report_es(text: str) -> str:
    """The Spanish report's closing versions, normalised as ``normalise_report`` does the English ones."""
    return _REPORT_VERSIONS_ES.sub(
        f"Versión del conocimiento {KNOWLEDGE_VERSION}, versión del motor {ENGINE_VERSION}.", text
    )


def spanish_report(example: Path) -> str:
    """``allpath assess EXAMPLE --format text --lang es``, rendered in process as the CLI does, normalised."""
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.interfaces.i18n import use_locale
    from allpath.interfaces.report import build_blocks, render_text
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge(locale="es")
    parsed = parse_record(json.loads(example.read_text(encoding="utf-8")))
    assessment = assess(parsed, kb)
    with use_locale("es"):
        text = render_text(build_blocks(assessment, kb, roadmap=build_roadmap(parsed, assessment, kb, None)))
    return normalise_report_es(text)


def write_spanish_reports(examples: list[Path]) -> tuple[list[Path], list[Path], set[Path]]:
    """Write the Spanish family reports; the changed, removed and expected files."""
    GOLDEN_EXAMPLES_ES.mkdir(parents=True, exist_ok=True)
    expected = {GOLDEN_EXAMPLES_ES / f"{example.stem}.txt" for example in examples}
    changed = [
        GOLDEN_EXAMPLES_ES / f"{e.stem}.txt"
        for e in examples
        if _write_if_changed(GOLDEN_EXAMPLES_ES / f"{e.stem}.txt", spanish_report(e))
    ]
    removed = [p for p in sorted(GOLDEN_EXAMPLES_ES.iterdir()) if p.is_file() and p not in expected]
    for stale in removed:
        stale.unlink()
    return changed, removed, expected


def normalise_json(text: str) -> str:
    """Replace the value of every "knowledge_version" and "engine_version" key in JSON text."""
    return _JSON_VERSIONS.sub(lambda m: f'"{m.group(1)}"{m.group(2)}"<{m.group(1)}>"', text)


def normalise_report(text: str) -> str:
    """Replace the knowledge and engine versions named at the end of a text or Markdown report."""
    return _REPORT_VERSIONS.sub(f"Knowledge version {KNOWLEDGE_VERSION}, engine version {ENGINE_VERSION}.", text)


def normalise(text: str, suffix: str) -> str:
    """Normalise one output; ``suffix`` is the golden file's suffix ("json", "txt" or "md")."""
    return normalise_json(text) if suffix == "json" else normalise_report(text)


@cache
def _knowledge() -> Any:
    from allpath.knowledge.loader import load_knowledge

    return load_knowledge()


def render(record: Any) -> dict[str, str]:
    """The CLI's output for one decoded record, by golden suffix, before normalisation.

    Mirrors the ``allpath assess`` command (the module ``allpath.interfaces.cli.assess``) for a single record:
    ``json.dumps(..., indent=2, ensure_ascii=False)`` plus a newline for JSON, and the rendered family report
    as is for text and Markdown.
    """
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.interfaces.report import build_blocks, render_markdown, render_text

    kb = _knowledge()
    parsed = parse_record(record)
    assessment = assess(parsed, kb)
    blocks = build_blocks(assessment, kb, roadmap=build_roadmap(parsed, assessment, kb, None))
    return {
        "json": json.dumps(assessment, indent=2, ensure_ascii=False) + "\n",
        "txt": render_text(blocks),
        "md": render_markdown(blocks),
    }


def golden_outputs(example: Path) -> dict[str, str]:
    """The normalised outputs of one example file, for the golden formats."""
    rendered = render(json.loads(example.read_text(encoding="utf-8")))
    return {suffix: normalise(rendered[suffix], suffix) for suffix in FORMATS}


def cohort_text(examples: list[Path]) -> str:
    """examples/all.json: a JSON array of every example record, in file-name order."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in examples]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def roadmap_outputs(stem: str) -> dict[str, bytes]:
    """The golden roadmap files of one example, dated from ``ROADMAP_START``, by suffix.

    Mirrors ``allpath roadmap examples/<stem>.json --start ROADMAP_START`` (``--start`` replaces the record's
    ``treatment_start_date`` before validation) for JSON, normalised, and for ``--format ics``, as bytes.
    """
    from allpath import __version__
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.interfaces.ics import roadmap_to_ics

    kb = _knowledge()
    raw = json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    record = parse_record({**raw, "treatment_start_date": ROADMAP_START})
    roadmap = build_roadmap(record, assess(record, kb), kb)
    versioned = {"record_id": record.id, **roadmap, "knowledge_version": kb.version, "engine_version": __version__}
    return {
        "roadmap.json": normalise_json(json.dumps(versioned, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "ics": roadmap_to_ics(roadmap, record_id=record.id),
        "doses.txt": doses_text(stem).encode("utf-8"),
    }


def doses_text(stem: str) -> str:
    """``allpath doses examples/<stem>.json --phase <phase> --format text`` for every phase of the child's
    regimen, in order, each after a line naming the command (the record as it is: its own start day)."""
    from typer.testing import CliRunner

    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.interfaces.cli import app

    kb = _knowledge()
    path = EXAMPLES / f"{stem}.json"
    record = parse_record(json.loads(path.read_text(encoding="utf-8")))
    roadmap = build_roadmap(record, assess(record, kb), kb)
    parts = []
    for phase in roadmap["phases"]:
        result = CliRunner().invoke(app, ["doses", str(path), "--phase", phase["id"], "--format", "text"])
        if result.exit_code != 0:
            raise RuntimeError(f"allpath doses {stem} --phase {phase['id']} failed: {result.output}")
        parts.append(f"$ allpath doses examples/{stem}.json --phase {phase['id']} --format text\n{result.stdout}")
    return "\n".join(parts)


def write_survivorship() -> tuple[list[Path], list[Path], set[Path]]:
    """Write the golden survivorship plans; the changed, removed and expected files."""
    if str(ROOT) not in sys.path:  # run as a script: make the tests package importable
        sys.path.insert(0, str(ROOT))
    from tests.golden.survivorship_cases import GOLDEN_SURVIVORSHIP, cases, golden_path, render

    GOLDEN_SURVIVORSHIP.mkdir(parents=True, exist_ok=True)
    expected = {golden_path(name) for name in cases()}
    changed = [golden_path(name) for name in sorted(cases()) if _write_if_changed(golden_path(name), render(name))]
    removed = [p for p in sorted(GOLDEN_SURVIVORSHIP.iterdir()) if p.is_file() and p not in expected]
    for stale in removed:
        stale.unlink()
    return changed, removed, expected


def _write_if_changed(path: Path, text: str | bytes) -> bool:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def main() -> int:
    examples = example_paths()
    if not examples:
        sys.stderr.write(f"no examples found in {EXAMPLES}\n")
        return 1
    GOLDEN_EXAMPLES.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    expected: set[Path] = set()
    for example in examples:
        for suffix, text in golden_outputs(example).items():
            target = GOLDEN_EXAMPLES / f"{example.stem}.{suffix}"
            expected.add(target)
            if _write_if_changed(target, text):
                changed.append(target)
    cohort = EXAMPLES / f"{COHORT}.json"
    if _write_if_changed(cohort, cohort_text(examples)):
        changed.append(cohort)
    removed = [p for p in sorted(GOLDEN_EXAMPLES.iterdir()) if p.is_file() and p not in expected]
    for stale in removed:
        stale.unlink()
    GOLDEN_ROADMAPS.mkdir(parents=True, exist_ok=True)
    roadmaps: set[Path] = set()
    for stem in ROADMAP_EXAMPLES:
        for suffix, data in roadmap_outputs(stem).items():
            target = GOLDEN_ROADMAPS / f"{stem}.{suffix}"
            roadmaps.add(target)
            if _write_if_changed(target, data):
                changed.append(target)
    stale_roadmaps = [p for p in sorted(GOLDEN_ROADMAPS.iterdir()) if p.is_file() and p not in roadmaps]
    for stale in stale_roadmaps:
        stale.unlink()
    removed += stale_roadmaps
    expected |= roadmaps
    survivorship_changed, survivorship_removed, survivorship_expected = write_survivorship()
    changed += survivorship_changed
    removed += survivorship_removed
    expected |= survivorship_expected
    spanish_changed, spanish_removed, spanish_expected = write_spanish_reports(examples)
    changed += spanish_changed
    removed += spanish_removed
    expected |= spanish_expected
    for path in changed:
        sys.stdout.write(f"updated {path.relative_to(ROOT)}\n")
    for path in removed:
        sys.stdout.write(f"removed {path.relative_to(ROOT)}\n")
    sys.stdout.write(
        f"{len(examples)} examples, {len(expected)} golden files: {len(changed)} updated, {len(removed)} removed."
        + (" Review the diff before committing.\n" if changed or removed else "\n")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
