"""The language of the family-facing pages: gettext catalogs read from the package, chosen per request.

Catalogs live in ``allpath/locale/<locale>/LC_MESSAGES/messages.po``; the supported locales are English (the
language of the templates themselves) and every folder there, so a third language is one more folder and no
code. The ``.po`` files are read with Babel at the first use of a locale (no compile step: a fresh install,
runtime packages only, works).

The translations in force are a context variable set around one rendering (``use_locale``): never a global
install, so one request's language cannot leak into another request served at the same time, in another
thread or task.
"""

from __future__ import annotations

import gettext as gettext_module
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment
from markupsafe import Markup, escape

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
DEFAULT_LOCALE = "en"
SOURCES_LANGUAGE = "en"
"""The language of the sources allpath cites (the NCI summary, its clinical facts, the trial registry): their
headings and titles are quoted as they are written, and a page in another language marks them as English."""
DOMAIN = "messages"
LANG_COOKIE = "allpath_lang"
LANG_PARAM = "lang"

_ENGLISH = gettext_module.NullTranslations()
_translations: ContextVar[gettext_module.NullTranslations] = ContextVar("allpath_translations", default=_ENGLISH)
_locale: ContextVar[str] = ContextVar("allpath_locale", default=DEFAULT_LOCALE)


def catalog_path(locale: str, directory: Path = LOCALE_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def supported_locales(directory: Path = LOCALE_DIR) -> tuple[str, ...]:
    """English, then every locale that has a catalog folder, in the folders' order."""
    if not directory.is_dir():
        return (DEFAULT_LOCALE,)
    found = sorted(
        entry.name
        for entry in directory.iterdir()
        if entry.is_dir() and entry.name != DEFAULT_LOCALE and catalog_path(entry.name, directory).is_file()
    )
    return (DEFAULT_LOCALE, *found)


@cache
def translations_for(locale: str, directory: Path = LOCALE_DIR) -> gettext_module.NullTranslations:
    """The translations of a supported locale (English: the templates' own words, unchanged)."""
    if locale == DEFAULT_LOCALE or locale not in supported_locales(directory):
        return _ENGLISH
    with catalog_path(locale, directory).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@contextmanager
def use_locale(locale: str, translations: gettext_module.NullTranslations | None = None) -> Iterator[None]:
    """Render in ``locale`` for the duration of the block (this thread or task only)."""
    words = translations if translations is not None else translations_for(locale)
    locale_token = _locale.set(locale)
    words_token = _translations.set(words)
    try:
        yield
    finally:
        _translations.reset(words_token)
        _locale.reset(locale_token)


def current_locale() -> str:
    return _locale.get()


def marked(message: str) -> str:
    """Marks a word kept in code for the catalog (``scripts/i18n extract``); a template translates it where it
    is shown (``label|translated``)."""
    return message


def marked_in(context: str, message: str) -> str:
    """Marks a word kept in code for the catalog in a context (``pgettext``): the same English word said
    otherwise there ("high" of a risk group is "alto" in Spanish, "high" confidence "alta")."""
    return message


def pgettext(context: str, message: str) -> str:
    return _translations.get().pgettext(context, message)


class Phrase(str):
    """A sentence made in code with values in it ("User name: use at least 3 characters."): the English as the
    text itself, and the catalog's sentence (``words``, marked) with its values, so that ``gettext`` translates
    it whole where it is shown. A value that is text is a marked word too (a field's label) and is translated."""

    words: str
    values: dict[str, str | int]

    def __new__(cls, words: str, **values: str | int) -> Phrase:
        made = super().__new__(cls, words % values)
        made.words = words
        made.values = values
        return made


def gettext(message: str) -> str:
    # gettext("") is a catalog's header, never a word of a page.
    if isinstance(message, Phrase):
        words = _translations.get().gettext(message.words)
        return words % {name: gettext(v) if isinstance(v, str) else v for name, v in message.values.items()}
    return _translations.get().gettext(message) if message else message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations.get().ngettext(singular, plural, count)


def accepted_languages(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first (weights ``q``; 0 means not wanted)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "")[:1000].split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag.strip() and tag.strip() != "*" and weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def _negotiated(tags: list[str]) -> str | None:
    """The first supported locale of ``tags`` (a region falls back to its language), spelled as its folder."""
    found = negotiate_locale([tag.replace("_", "-") for tag in tags], supported_locales(), sep="-")
    return next((locale for locale in supported_locales() if found and locale.lower() == found.lower()), None)


def supported(tag: str | None) -> str | None:
    """A supported locale named by ``tag`` (``es``, ``es-MX``, ``ES``), else None."""
    return _negotiated([tag]) if tag else None


def choose_locale(query: str | None, cookie: str | None, account: str | None, accept_language: str | None) -> str:
    """The language of a page: ``?lang=`` (then kept in a cookie), the account's preferred language, the
    browser's ``Accept-Language``, English."""
    for choice in (query, cookie, account):
        found = supported(choice)
        if found:
            return found
    return _negotiated(accepted_languages(accept_language)) or DEFAULT_LOCALE


def language_name(locale: str) -> str:
    """A language in its own words, as a switch shows it ("English", "Español")."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def shown_date(moment: date | datetime | str | None) -> str:
    """A date in the current locale's medium form (English pages keep their ISO dates). A date may come as its
    ISO text (``2026-01-05``, as the roadmap and the survivorship plan carry it); English shows it as it is."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        if current_locale() == DEFAULT_LOCALE:
            return moment
        try:
            day = date.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        day = moment.date() if isinstance(moment, datetime) else moment
    return day.isoformat() if current_locale() == DEFAULT_LOCALE else format_date(day, "long", locale=current_locale())


def shown_moment(moment: datetime) -> str:
    """A moment in UTC: English keeps ``2026-03-05 14:03 UTC``; another locale writes its date in words."""
    if current_locale() == DEFAULT_LOCALE:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"{format_date(moment.date(), 'long', locale=current_locale())} {moment.strftime('%H:%M')} UTC"


def shown_decimal(value: float) -> str:
    return format_decimal(value, locale=current_locale())


def local_number(typed: str) -> str:
    """A number written as typed (``0.00001``, ``8500``), in the current locale's way with every digit kept
    (Spanish ``0,00001``); English keeps the text as it is, and so does anything that is not a number."""
    if current_locale() == DEFAULT_LOCALE:
        return typed
    try:
        number = Decimal(typed)
    except InvalidOperation:
        return typed
    return format_decimal(number, locale=current_locale(), decimal_quantization=False)


def in_sources_language(text: str, words: Sequence[str] = ()) -> Markup:
    """``text`` escaped for HTML, each of ``words`` in it (words of a source, quoted as the source writes them)
    marked with the sources' language, so that a screen reader of a page in another language reads them
    right. Without ``words`` the text is only escaped, as a template escapes it."""
    if not words:
        return escape(text)
    # The longest first: a heading quoted inside a study's title stays within the title's mark.
    pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w))
    parts: list[Markup] = []
    last = 0
    for found in pattern.finditer(text):
        parts += [
            escape(text[last : found.start()]),
            Markup('<span lang="%s">%s</span>') % (SOURCES_LANGUAGE, found.group()),
        ]
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def install(env: Environment) -> None:
    """Jinja2's i18n extension with new-style gettext whose words come from the current request's locale."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    # ``translated``: a word kept in code (a navigation label, a notice), translated and still escaped as text
    # (``_()`` marks its answer safe, right for the templates' own words only).
    from allpath.interfaces.i18n.groups import group_words  # it uses this module's words

    env.filters.update(translated=gettext, local_date=shown_date, local_decimal=shown_decimal, group_words=group_words)
    env.filters.update(in_sources_language=in_sources_language)
    env.globals.update(language_name=language_name)
