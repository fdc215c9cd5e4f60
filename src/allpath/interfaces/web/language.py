"""Which language a page speaks, and the switch between languages that every page shows.

The order (issue 14): ``?lang=`` (kept in a session cookie so the next pages follow it), the signed-in
account's preferred language, the browser's ``Accept-Language``, English. A ``lang`` that is not supported
is ignored, never shown back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import Request, Response
from typing_extensions import TypedDict

from allpath.interfaces.i18n import (
    LANG_COOKIE,
    LANG_PARAM,
    choose_locale,
    language_name,
    shown_moment,
    supported,
    supported_locales,
    use_locale,
)
from allpath.interfaces.i18n import install as install_i18n

if TYPE_CHECKING:
    from allpath.interfaces.web.pages import Viewer

__all__ = ["install_i18n", "language_context", "page_locale", "remember_language", "shown_moment", "use_locale"]


class LanguageLink(TypedDict):
    locale: str
    name: str
    href: str
    current: bool


class LanguageContext(TypedDict):
    lang: str
    languages: list[LanguageLink]


def page_locale(request: Request, viewer: Viewer | None) -> str:
    return choose_locale(
        request.query_params.get(LANG_PARAM),
        request.cookies.get(LANG_COOKIE),
        viewer.language if viewer else None,
        request.headers.get("accept-language"),
    )


def switch_href(request: Request, locale: str) -> str:
    """This page's address in ``locale``: its own query with ``lang`` replaced."""
    query = [(key, value) for key, value in request.query_params.multi_items() if key != LANG_PARAM]
    return f"{request.url.path}?{urlencode([*query, (LANG_PARAM, locale)])}"


def language_context(request: Request, viewer: Viewer | None) -> LanguageContext:
    """The page's locale and the links of the language switch."""
    locale = page_locale(request, viewer)
    links: list[LanguageLink] = [
        {"locale": each, "name": language_name(each), "href": switch_href(request, each), "current": each == locale}
        for each in supported_locales()
    ]
    return {"lang": locale, "languages": links}


def remember_language(request: Request, response: Response) -> None:
    """Keep a language chosen with ``?lang=`` for the rest of the browser session."""
    chosen = supported(request.query_params.get(LANG_PARAM))
    if chosen and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(LANG_COOKIE, chosen, httponly=True, samesite="lax", secure=request.url.scheme == "https")
