"""The record's field labels in the page's language (issue 14).

The domain's table (``domain/labels.yaml``) is English and stays the words of the API and the command line. A
language gives its own table beside its catalog, ``locale/<locale>/labels.yaml``, with the same keys; a page
in that language names a field from it. A language without that file, or a key missing from it, keeps the
English label.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml

from allpath.domain.labels import field_label, label_in
from allpath.interfaces.i18n import DEFAULT_LOCALE, LOCALE_DIR, current_locale, gettext, marked

LABELS_FILE = "labels.yaml"

# How one entry of a list of values and a field nobody knows are named.
ENTRY = marked("%(label)s, entry %(number)s")
UNKNOWN = marked("the field \u201c%(path)s\u201d")


@cache
def label_table(locale: str, directory: Path = LOCALE_DIR) -> Mapping[str, str]:
    """The labels of ``locale`` (empty for English, or for a language without its own table)."""
    path = directory / locale / LABELS_FILE
    if locale == DEFAULT_LOCALE or not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
        raise ValueError(f"{path} must map record paths to labels")
    return dict(loaded)


def local_field_label(path: str) -> str:
    """The label of a record path in the current locale, else the domain's English label."""
    table = label_table(current_locale())
    english = field_label(path)
    if not table:
        return english
    local = label_in(table, path, entry=gettext(ENTRY), unknown=gettext(UNKNOWN))
    # A key of the English table that this language does not have yet: its English label, not a quoted path.
    unknown = local == gettext(UNKNOWN) % {"path": path}
    return english if unknown and english != UNKNOWN % {"path": path} else local
