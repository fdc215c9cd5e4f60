"""Files of ClinicalTrials.gov studies for ``allpath trials import``, read strictly and within limits.

A file is either a ``studies`` page as the API v2 returns it (``{"studies": [...], "nextPageToken": ...}``)
or NDJSON: one study object per line (blank lines are skipped). The limits are checked before the work they
guard: the file's size before it is read, the number of studies before any is stored, and the nesting depth
as the JSON is read (``allpath.interfaces.json_text``). A file beyond a limit, or not JSON, is refused whole,
with what is allowed; a bad line of an NDJSON file is refused alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from allpath.interfaces.json_text import JSONTextError, decode_utf8, loads_strict
from allpath.service.trials import Refusal, Study

MAX_FILE_BYTES = 64 * 1024 * 1024  # a page of 1,000 full studies (the API's largest) is about 30 MB
MAX_STUDIES_PER_FILE = 10_000
MAX_DEPTH = 32  # a study with its results section nests about 12 levels deep
EXPECTED = 'a ClinicalTrials.gov API v2 studies page ({"studies": [...]}) or NDJSON, one study object per line'


@dataclass
class ReadFiles:
    """The studies read from the files, and what was refused (whole files, lines)."""

    studies: list[Study] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def read_study_files(paths: list[str]) -> ReadFiles:
    read = ReadFiles()
    for path in paths:
        name = Path(path).name
        try:
            read.studies.extend(_read_file(path, name, read.refused))
        except _Refused as refusal:
            read.refused.append(Refusal(name, str(refusal)))
    return read


class _Refused(Exception):
    """The whole file is refused; the message says why and what is allowed."""


def _read_file(path: str, name: str, refused: list[Refusal]) -> list[Study]:
    try:
        text = decode_utf8(_bytes(path))
    except JSONTextError as error:
        raise _Refused(f"{error}; expected {EXPECTED}") from None
    if not text.strip():
        raise _Refused(f"the file is empty; expected {EXPECTED}")
    try:
        whole = loads_strict(text, max_depth=MAX_DEPTH)
    except JSONTextError as error:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2 or "nested more than" in error.reason:
            raise _Refused(f"{error}; expected {EXPECTED}") from None
        return _ndjson(text, name, refused)
    if isinstance(whole, dict) and "studies" in whole:
        return _page(whole, name)
    if isinstance(whole, dict) and "protocolSection" in whole:
        return [Study(f"{name} line 1", whole)]
    raise _Refused(f"this is JSON but neither a studies page nor a study; expected {EXPECTED}")


def _bytes(path: str) -> bytes:
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _Refused(
                f"the file holds {size:,} bytes; at most {MAX_FILE_BYTES:,} bytes "
                f"({MAX_FILE_BYTES // (1024 * 1024)} MiB) are read: split it into several files"
            )
        return file.read_bytes()
    except FileNotFoundError:
        raise _Refused("the file does not exist") from None
    except IsADirectoryError:
        raise _Refused("this is a folder; expected a file") from None
    except OSError:
        raise _Refused("the file cannot be read") from None


def _page(page: dict[str, object], name: str) -> list[Study]:
    studies = page["studies"]
    if not isinstance(studies, list):
        raise _Refused(f"studies must be a list of study objects; expected {EXPECTED}")
    _within_count(len(studies))
    return [Study(f"{name} study {index + 1}", value) for index, value in enumerate(studies)]


def _ndjson(text: str, name: str, refused: list[Refusal]) -> list[Study]:
    numbered = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    _within_count(len(numbered))
    studies: list[Study] = []
    for number, line in numbered:
        where = f"{name} line {number}"
        try:
            studies.append(Study(where, loads_strict(line, max_depth=MAX_DEPTH)))
        except JSONTextError as error:
            refused.append(Refusal(where, f"{error}; expected one study object per line"))
    return studies


def _within_count(count: int) -> None:
    if count > MAX_STUDIES_PER_FILE:
        raise _Refused(
            f"studies: the file holds {count:,} studies; at most {MAX_STUDIES_PER_FILE:,} per file: "
            "split it into several files"
        )
