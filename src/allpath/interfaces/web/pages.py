"""What every page shares: templates, the signed-in principal, page errors, citations and headers.

Pages use the API's session cookie and CSRF token (``allpath.interfaces.http.deps``): a signed-in browser
can use the JSON API and the pages alike. A page error is an HTML page (or a redirect to sign-in), never
the API's JSON, and the API's own errors are untouched: ``PageError`` is raised by pages only.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from pydantic import ValidationError
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from allpath import __version__
from allpath.domain.labels import known_paths
from allpath.interfaces.http.deps import DB, Principal, audit_refusal, optional_principal
from allpath.interfaces.http.unit_of_work import Work, work_of
from allpath.interfaces.i18n import Phrase, gettext, local_number, marked
from allpath.interfaces.i18n.labels import local_field_label
from allpath.interfaces.web import language as page_language
from allpath.interfaces.web.dose_words import age_basis_words, basis_words, per_words
from allpath.interfaces.web.forms import dom_id, shown_number
from allpath.interfaces.web.language import install_i18n, language_context, remember_language, shown_moment, use_locale
from allpath.interfaces.web.navigation import NAV, ROLE_LABELS
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.access import DATA_ROLES

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

# Pages hold patient data: never cached, never framed, no referrer (patient ids are in the URLs), and
# scripts, styles and form targets from this site only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def slug(text: str) -> str:
    """The anchor of a source section: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def source_id_of(kb: KnowledgeBase, document: str) -> str | None:
    for source_id, spec in kb.sources.items():
        if spec.document == document:
            return source_id
    return None


def cite_url(kb: KnowledgeBase, source: Mapping[str, object] | None) -> str | None:
    """The page of a citation ``{document, section}``: ``/sources/<id>#<slug of the section>``."""
    if not source:
        return None
    source_id = source_id_of(kb, str(source.get("document", "")))
    if source_id is None:
        return None
    return f"/sources/{source_id}#{slug(str(source.get('section', '')))}"


FactorT = TypeVar("FactorT", bound=Mapping[str, object])


def decisive_first(factors: Iterable[FactorT]) -> list[FactorT]:
    """Factors (an assessment's, fresh or stored) with those that decide the group first (otherwise in the
    engine's order)."""
    return sorted(factors, key=lambda f: not f.get("decides", False))


def humanize(value: Any) -> str:
    return "none" if value is None else str(value).replace("_", " ")


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return shown_moment(aware.astimezone(UTC))


def shown_value(value: Any) -> str:
    """An input value as shown in a factor: numbers as typed (in another language with its own decimal mark:
    Spanish 0,5 for 0.5), lists joined, booleans as yes/no."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int | float):
        return local_number(shown_number(value))
    if isinstance(value, list | tuple):
        return ", ".join(shown_value(v) for v in value) or gettext("none")
    return humanize(value)


_INDEXES = re.compile(r"\[\d+\]")


def label_of(kb: KnowledgeBase | None, key: str) -> str:
    """What people call a record path (``response.day8_blood_mrd_pct``) or an input the engine reasons
    about (``relapse_number``): the field label, else the knowledge base's label, else the key in words.
    Pages show this, never the key."""
    paths = known_paths()
    if key in paths or _INDEXES.sub("[]", key) in paths:
        return local_field_label(key)
    if kb is not None and key in kb.inputs:
        return kb.inputs[key].label
    if "response." + key in paths:
        return local_field_label("response." + key)
    # A fact the engine derives (relapse_number, refractory): its name in words.
    return humanize(key)


@pass_context
def label_filter(context: Context, key: Any) -> str:
    request = context.get("request")
    kb = getattr(request.app.state, "kb", None) if request is not None else None
    return label_of(kb, str(key))


_SCHEME_WORDS = {
    "risk_group": marked("risk group"),
    "cog_risk_group": marked("COG group"),
    "population": marked("population"),
    "disease_state": marked("disease state"),
    "relapse_timing": marked("relapse timing"),
    "relapse_risk_group": marked("relapse risk group"),
    "genetic_counseling": marked("genetic counselling"),
    # Effects without a value (allpath.engine.assess).
    "not covered": marked("not covered"),
    "note": marked("note"),
}


def effect_words(effect: str) -> str:
    """A factor's effect as words in the page's language: ``risk_group=standard`` gives "risk group: standard"
    (the value is the knowledge base's name of the group)."""
    parts = []
    for part in effect.split(";"):
        key, sep, value = part.strip().partition("=")
        words = gettext(_SCHEME_WORDS[key]) if key in _SCHEME_WORDS else humanize(key)
        parts.append(f"{words}: {humanize(value)}" if sep else words)
    return "; ".join(parts)


# Form field names of the account pages, as the person filling in the form reads them.
ACCOUNT_FIELD_LABELS = {
    "username": marked("User name"),
    "display_name": marked("Name"),
    "password": marked("Password"),
    "new_password": marked("New password"),
    "current_password": marked("Current password"),
    "code": marked("Code"),
    "role": marked("Role"),
    "team": marked("Team"),
}


def plain_form_errors(error: ValidationError) -> dict[str, str]:
    """The problems of an account form in plain words, by field name: pydantic's messages ("String should
    have at least 3 characters") are for software and never reach a page. Each is a ``Phrase``: the page
    translates it whole, the field's name with it (``|translated``)."""
    errors: dict[str, str] = {}
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        label = ACCOUNT_FIELD_LABELS.get(name, humanize(name).capitalize())
        context = problem.get("ctx") or {}
        kind = problem["type"]
        if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
            message = Phrase(marked("%(label)s: please fill this in."), label=label)
        elif kind == "string_too_short":
            count = int(context.get("min_length", 0))
            message = Phrase(marked("%(label)s: use at least %(count)s characters."), label=label, count=count)
        elif kind == "string_too_long":
            count = int(context.get("max_length", 0))
            message = Phrase(marked("%(label)s: use at most %(count)s characters."), label=label, count=count)
        elif kind == "string_pattern_mismatch":
            words = marked("%(label)s: use only letters, digits and the signs . @ - and the underscore.")
            message = Phrase(words, label=label)
        elif kind in ("literal_error", "enum"):
            message = Phrase(marked("%(label)s: choose one of the options."), label=label)
        else:
            message = Phrase(marked("%(label)s: this value cannot be used."), label=label)
        errors.setdefault(name, message)
    return errors


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.filters.update(
    humanize=humanize,
    when=when,
    shown=shown_value,
    slug=slug,
    decisive_first=decisive_first,
    label=label_filter,
    effect=effect_words,
)
templates.env.filters.update(per_words=per_words, basis_words=basis_words, age_basis_words=age_basis_words)
templates.env.globals.update(dom_id=dom_id)
install_i18n(templates.env)


class PageError(Exception):
    """An error shown as a page (status, title, message) or, with ``location``, a redirect."""

    def __init__(self, status: int, title: str, message: str = "", location: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message
        self.location = location


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, copied out of the database session (an error page is rendered after the
    request's transaction has been rolled back, when the user row can no longer be read)."""

    username: str
    display_name: str
    role: str
    csrf: str | None
    language: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        user = principal.user
        return cls(user.username, user.display_name, user.role, principal.csrf, user.preferred_language)


class BaseContext(TypedDict):
    """What every page's template may use, beside the page's own context."""

    user: Viewer | None
    role: str | None
    role_label: str
    csrf: str | None
    nav: tuple[tuple[str, str], ...]
    path: str
    disclaimer: str
    knowledge_version: str
    engine_version: str
    cite_url: Callable[[Mapping[str, object] | None], str | None]
    certainty_meaning: Mapping[str, str]


def base_context(request: Request, principal: Work | Principal | Viewer | None) -> BaseContext:
    if isinstance(principal, Work):
        principal = principal.principal
    viewer = Viewer.of(principal) if isinstance(principal, Principal) else principal
    kb: KnowledgeBase = request.app.state.kb
    locale = page_language.page_locale(request, viewer)  # the disclaimer and certainty words in its language
    kb = kb if locale == kb.locale else request.app.state.kb_for(locale)  # English: the running knowledge base
    role = viewer.role if viewer else None
    return {
        "user": viewer,
        "role": role,
        "role_label": ROLE_LABELS.get(role or "", ""),
        "csrf": viewer.csrf if viewer else None,
        "nav": NAV.get(role or "", ()),
        "path": request.url.path,
        "disclaimer": kb.text.disclaimer,
        "knowledge_version": kb.version,
        "engine_version": __version__,
        "cite_url": lambda source: cite_url(kb, source),
        "certainty_meaning": kb.certainty_meaning,
    }


def page(
    request: Request,
    template: str,
    context: Mapping[str, object],
    principal: Work | Principal | Viewer | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the shared context (user, navigation, CSRF token, disclaimer)."""
    shared = base_context(request, principal)
    language = language_context(request, shared["user"])
    full: dict[str, object] = {**shared, **language, **context}
    with use_locale(language["lang"]):
        response: HTMLResponse = templates.TemplateResponse(
            request, template, full, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
        )
    remember_language(request, response)
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


async def page_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    if error.location is not None:
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": error.location, **SECURITY_HEADERS})
        return RedirectResponse(error.location, status_code=303, headers=SECURITY_HEADERS)
    viewer = getattr(request.state, "viewer", None)
    return page(request, "error.html", {"title": error.title, "message": error.message}, viewer, error.status)


# ---- who is asking -------------------------------------------------------------------------------------


async def page_principal(request: Request, s: DB) -> Principal | None:
    """The signed-in user (session cookie or API token); a POST must carry the session's CSRF token."""
    try:
        principal = await optional_principal(request, s)
    except HTTPException as error:
        if error.status_code == 403:
            raise PageError(
                403,
                marked("This form could not be accepted"),
                marked(
                    "It did not carry this session's security token (it may have come from another site, or the "
                    "page was opened before you last signed in). Go back, reload the page and try again."
                ),
            ) from None
        raise PageError(error.status_code, marked("You are not signed in"), str(error.detail)) from None
    request.state.viewer = Viewer.of(principal) if principal else None
    return principal


MaybePageUser = Annotated[Principal | None, Depends(page_principal)]


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def page_user(*roles: str) -> Callable[[Request, Session, Principal | None], Principal]:
    """A dependency that admits the given roles (any signed-in user when none are given)."""

    def check(request: Request, s: DB, principal: MaybePageUser) -> Principal:
        if principal is None:
            audit_refusal(s, None, request, "unauthenticated")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            location = "/signin" if request.method != "GET" else f"/signin?next={quote(target, safe='')}"
            raise PageError(303, "Sign in first", location=location)
        if roles and principal.user.role not in roles:
            audit_refusal(s, principal.user, request, "forbidden")
            raise PageError(
                403,
                marked("This page is not for your account"),
                f"It is for the role {' or '.join(ROLE_LABELS.get(r, r) for r in roles)}.",
            )
        if roles and principal.user.role in DATA_ROLES and not principal.granted:
            audit_refusal(s, principal.user, request, "unconfirmed")
            raise PageError(403, marked("Your account waits for confirmation"), WAITING_PAGE)
        return principal

    return check


WAITING_PAGE = marked(
    "Patient data is shared by the people who hold it, not by administrators: a clinician of your team "
    "confirms your account (a new account, or one whose password was reset or whose role or team changed). "
    "Tell a colleague that you have activated your account; until then you see no patient data."
)


def page_work(*roles: str) -> Callable[..., Awaitable[Work]]:
    """The work of a page for ``roles`` (any signed-in user when none are given): the request's unit of work,
    acting as the signed-in user, who is refused with a page (``page_user``) otherwise."""
    return work_of(page_user(*roles))


ClinicianPage = Annotated[Work, Depends(page_work("clinician"))]
CareOrFamilyPage = Annotated[Work, Depends(page_work("clinician", "family"))]
ResearcherPage = Annotated[Work, Depends(page_work("researcher"))]
AdminPage = Annotated[Work, Depends(page_work("admin"))]
AnyUserPage = Annotated[Work, Depends(page_work())]
