"""The knowledge base's plain-language texts in another language (issue 14).

A translation is data beside the English knowledge: ``data/translations/<locale>.yaml`` holds, for each
translatable text, the translated words and a short hash of the English text they translate, keyed by a stable
path (``text.yaml/fever_during_treatment/items/0``, ``phases.yaml/phases/[maintenance]/goal``: list items are
named by their ``id`` or glossary ``term`` when they have one). When the English text changes, its hash no longer
matches and the translation is *stale*: the lint reports it, and the English text is shown until it is
translated again. ``apply`` writes the translations into the raw YAML before validation, so every consumer of
the knowledge base reads the translated texts with no change of its own.

Which texts are translatable: every text of ``text.yaml`` (the family report's pieces) except ids, citations and
code mappings, and in the other files the fields written for families (``plain``, ``goal``, ``purpose``,
``label`` of a phase, test, therapy or population, ``text`` of a follow-up item, the certainty words and the
names of the risk groups), and the texts at the paths of ``_FAMILY_PATHS`` (the road ahead, the check-ups after
treatment, the trial statuses and the medicine names the family report reads, the inputs' names).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from allpath.errors import KnowledgeError

TRANSLATIONS_DIR = "translations"
SOURCE_LOCALE = "en"

# text.yaml: everything is for people to read except these keys (ids, citations, code-to-code mappings).
_TEXT_FILE = "text.yaml"
_NOT_TEXT = frozenset({"cite", "scheme_comparison_id", "scheme_correspondence", "tests"})
# The other files: the fields written for families.
_FAMILY_FIELDS: dict[str, frozenset[str]] = {
    "phases.yaml": frozenset({"label", "goal"}),
    "tests.yaml": frozenset({"label", "purpose"}),
    "follow_up.yaml": frozenset({"text"}),
    "catalog.yaml": frozenset({"label", "certainty_meaning"}),  # a therapy's name and "part of every plan ..."
    "risk_groups.yaml": frozenset({"labels"}),  # the group names a family reads ("high risk")
    "cog_risk_groups.yaml": frozenset({"labels"}),
    "relapse.yaml": frozenset({"labels"}),
    "populations.yaml": frozenset({"label"}),  # a population's name (the assessment, the cohort diff's report)
}
# Texts a family reads that a field name alone cannot pick out (the same field holds a clinician's text, or an
# ``id`` and the sources sit beside it): their paths, ``*`` standing for one key or list item.
_FAMILY_PATHS: dict[str, tuple[str, ...]] = {
    "regimens.yaml": (  # the road ahead: why there is no timetable, its notes, phases, checkpoints and end
        "selection/not_covered/*",
        "selection/notes/*/text",
        "total_duration/explanation",
        "regimens/*/label",
        "regimens/*/phases/*/label",
        "checkpoints/*/label",
        "checkpoints/*/purpose",
    ),
    "survivorship.yaml": (  # the check-ups after treatment
        "screening/*/late_effect",
        "screening/*/test",
        # The report shows the explanation of a covered item without a test (interfaces/report/treatment.py;
        # the explanations of the items with a test hold doses and are the care team's): these.
        "screening/[surv.methotrexate]/explanation",
        "screening/[surv.corticosteroids]/explanation",
        "screening/[surv.dexamethasone_age10_osteonecrosis]/explanation",
        "screening/[surv.cranial_radiation]/explanation",
        "anthracyclines/not_covered/*",
        "not_covered/*/text",
    ),
    "trials.yaml": ("statuses/labels/*",),  # a study's status in the trial section
    # The age bands of the intrathecal table, which a dose line's basis names (the care team's doses table in
    # the page's language; interfaces/web/dose_words.py).
    "intrathecal.yaml": ("bands/*/label",),
    "drugs.yaml": ("drugs/*/label",),  # a medicine's name in the plan (not the dose tables' names)
    # An input's name, read beside its value (the cohort diff's report: the threshold that moved a record and
    # the values each deciding rule read); not the derived facts' descriptions.
    "inputs.yaml": ("inputs/*/label",),
}
_PLAIN = frozenset({"plain"})
_FIELD = re.compile(r"\{[a-z_]*\}")  # a field that the report fills in, such as {total}
_KEY_FIELDS = ("id", "code", "term", "name")  # a list item with one of these is named by it, not by its position


M = TypeVar("M", bound=BaseModel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TranslatedText(_Frozen):
    """One translated text: the English text's hash (``source_hash``) and the translated words."""

    source_hash: str = Field(pattern=r"^[0-9a-f]{12}$")
    text: str = Field(min_length=1)


class TranslationFile(_Frozen):
    """``translations/<locale>.yaml``: the texts of one language, with the state of their review.

    ``pending`` is the ratchet: path prefixes whose missing or stale texts the lint only warns about; anywhere
    else a missing or stale text is an error. The next session shrinks it to nothing.
    """

    locale: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    reviewed_by_clinician: bool
    review_notice: str  # said in the report while ``reviewed_by_clinician`` is false, in this language
    pending: list[str]
    texts: dict[str, TranslatedText]


class GlossaryTerm(_Frozen):
    """A medical term in English and the translation used for it, with the public page it was checked against.
    ``forms`` are other spellings of the same term (plural, the article-less form) that count as using it."""

    en: str
    translation: str
    forms: list[str] = []
    checked_against: str = Field(pattern=r"^https?://")


class GlossaryFile(_Frozen):
    locale: str
    terms: list[GlossaryTerm]


@dataclass(frozen=True)
class Gap:
    """A translatable text with no translation (``missing``), a translation of an older English text
    (``stale``), a translation of a path that is no text (``unknown``), or one whose ``{...}`` fields to fill in
    differ from the English text's (``placeholders``)."""

    path: str
    kind: Literal["missing", "stale", "unknown", "placeholders"]
    pending: bool


def text_hash(english: str) -> str:
    return hashlib.sha256(english.encode("utf-8")).hexdigest()[:12]


Raw = MutableMapping[str, object]
Slot = tuple[str, MutableMapping[str, object] | list[object], str | int, str]  # path, parent, key, text


def translatable(raw_files: MutableMapping[str, object]) -> Iterator[Slot]:
    """Every translatable text of the raw (unvalidated) knowledge files, with where it sits."""
    for name, content in raw_files.items():
        if name == _TEXT_FILE:
            yield from _slots(content, name, None)
            continue
        fields = _FAMILY_FIELDS.get(name, frozenset()) | _PLAIN
        by_field = list(_slots(content, name, fields))
        yield from by_field
        wanted = _path_pattern(name)
        if wanted is not None:
            taken = {slot[0] for slot in by_field}
            yield from (
                slot
                for slot in _slots(content, name, frozenset(), take=True)
                if wanted.fullmatch(slot[0]) and slot[0] not in taken
            )


def _path_pattern(name: str) -> re.Pattern[str] | None:
    """One pattern for the ``_FAMILY_PATHS`` of a file (``*``: one path segment), or None."""
    paths = _FAMILY_PATHS.get(name)
    if not paths:
        return None
    alternatives = ("/".join("[^/]+" if part == "*" else re.escape(part) for part in p.split("/")) for p in paths)
    return re.compile(re.escape(name) + "/(?:" + "|".join(alternatives) + ")")


def _slots(node: object, path: str, fields: frozenset[str] | None, take: bool = False) -> Iterator[Slot]:
    """Texts under ``node``: all of them (``fields`` None, text.yaml) or those under a key in ``fields``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if fields is None and key in _NOT_TEXT:
                continue
            here = f"{path}/{key}"
            wanted = fields is None or take or key in fields
            if isinstance(value, str) and wanted:
                yield here, node, key, value
            else:
                yield from _slots(value, here, fields, take or (fields is not None and key in fields))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            here = f"{path}/{_item_name(item, index)}"
            if isinstance(item, str) and (fields is None or take):
                yield here, node, index, item
            else:
                yield from _slots(item, here, fields, take)


def _item_name(item: object, index: int) -> str:
    if isinstance(item, dict):
        for key in _KEY_FIELDS:
            if isinstance(item.get(key), str):
                return f"[{item[key]}]"
    return str(index)


def apply(raw_files: MutableMapping[str, object], translation: TranslationFile) -> None:
    """Replace, in place, every translatable text that has a current translation (a stale one is not used)."""
    for path, parent, key, english in list(translatable(raw_files)):
        entry = translation.texts.get(path)
        if entry is not None and entry.source_hash == text_hash(english):
            parent[key] = entry.text  # type: ignore[index]  # key is a str for a mapping, an int for a list


def gaps(raw_files: MutableMapping[str, object], translation: TranslationFile) -> list[Gap]:
    """What the translation lacks: missing and stale texts, and entries for paths that are no text."""

    def pending(path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in translation.pending)

    found: list[Gap] = []
    seen: set[str] = set()
    for path, _, _, english in translatable(raw_files):
        seen.add(path)
        entry = translation.texts.get(path)
        if entry is None:
            found.append(Gap(path, "missing", pending(path)))
        elif entry.source_hash != text_hash(english):
            found.append(Gap(path, "stale", pending(path)))
        elif set(_FIELD.findall(entry.text)) != set(_FIELD.findall(english)):
            found.append(Gap(path, "placeholders", False))
    found += [Gap(path, "unknown", False) for path in translation.texts if path not in seen]
    return found


def translation_paths(data_dir: Path) -> list[Path]:
    """The files of ``data/translations`` (translations and glossaries), which ``knowledge_version`` covers."""
    folder = data_dir / TRANSLATIONS_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def _validated(name: str, raw: object, model: type[M]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KnowledgeError(f"{TRANSLATIONS_DIR}/{name}: {where}: {first['msg']}") from None


def prepare(
    raw_files: MutableMapping[str, object], extra: Mapping[str, object], locale: str
) -> tuple[TranslationFile | None, dict[str, tuple[Gap, ...]]]:
    """Validate the translation files (``extra``: file name -> raw content), find each locale's gaps in the
    English texts, then, for a locale other than English, write its translations into ``raw_files``."""
    translations: dict[str, TranslationFile] = {}
    for name, raw in extra.items():
        if name.startswith("glossary_"):
            _validated(name, raw, GlossaryFile)
        else:
            translations[name.removesuffix(".yaml")] = _validated(name, raw, TranslationFile)
    found = {code: tuple(gaps(raw_files, translation)) for code, translation in translations.items()}
    if locale == SOURCE_LOCALE:
        return None, found
    chosen = translations.get(locale)
    if chosen is None:
        raise KnowledgeError(f"the knowledge base has no translation for the language {locale!r}")
    apply(raw_files, chosen)
    return chosen, found


def todo(data_dir: Path, locale: str) -> str:
    """The entries to write for ``locale``'s missing and stale texts: each path with the current English text's
    hash, the English text as a comment, and the former translation of a stale text to start from."""
    from allpath.knowledge.schema import FILES

    def read(path: Path) -> object:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    raw: MutableMapping[str, object] = {name: read(data_dir / name) for name in FILES}
    translation = _validated(f"{locale}.yaml", read(data_dir / TRANSLATIONS_DIR / f"{locale}.yaml"), TranslationFile)
    english = {path: text for path, _, _, text in translatable(raw)}
    lines: list[str] = []
    for gap in gaps(raw, translation):
        if gap.kind in ("missing", "stale"):
            former = translation.texts.get(gap.path)
            lines += [f"  # English: {english[gap.path]}", f'  "{gap.path}":']
            lines += [
                f'    source_hash: "{text_hash(english[gap.path])}"',
                f'    text: "{former.text if former else ""}"',
            ]
    return "\n".join(lines) + ("\n" if lines else "")


if __name__ == "__main__":  # python -m allpath.knowledge.translations es [DATA_DIR]: the entries still to write
    import sys

    bundled = Path(__file__).resolve().parent / "data"
    sys.stdout.write(
        todo(Path(sys.argv[2]) if len(sys.argv) > 2 else bundled, sys.argv[1] if len(sys.argv) > 1 else "es")
    )
