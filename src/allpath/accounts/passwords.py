"""The password policy of NIST SP 800-63B-4 (section 3.1.1.2, passwords used as a single factor).

What it asks, and what this module does:

- a minimum length of 15 characters for a password used alone, and a maximum of at least 64: lengths are
  counted in Unicode code points after NFKC normalisation (800-63B asks for a normalisation of Unicode
  passwords), from ``MIN_LENGTH`` to ``MAX_LENGTH``;
- a comparison with a blocklist of "commonly used, expected, or compromised" values: the bundled list of
  30,000 common and breached passwords (``data/common-passwords.txt``, its source and licence in its
  header), context-specific words (the user name, the display name, the service's name ``allpath``), and
  repetitive or sequential characters (``aaaa...``, ``1234...``, ``abcabc...``). A password is compared as
  a whole and by its core (the letters left when separators, digits and symbols at either end are taken
  away), so that ``password-2024-12345`` or ``Allpath!!!!!!!!!`` count as the listed word they are;
- no composition rules (no required mix of character kinds), no hints, no periodic change.

References
----------
NIST Special Publication 800-63B-4, Digital Identity Guidelines: Authentication and Authenticator
Management (2025), section 3.1.1.2 "Password Verifiers".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 15
MAX_LENGTH = 256
SERVICE_NAME = "allpath"
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common-passwords.txt"

# A unit of up to this many characters repeated ("abab...", "xyzxyz...") is a repetitive password.
_SHORT_UNIT = 4
_SEPARATORS = re.compile(r"[\s._\-+/\\|,;:]+")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says why in plain words."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled blocklist, lower case."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def normalized(password: str) -> str:
    """The password as it is checked and hashed: Unicode NFKC (the same text typed on another device)."""
    return unicodedata.normalize("NFKC", password)


def _core(text: str) -> str:
    """The letters of a password without separators and without the digits and symbols at either end."""
    return _EDGES.sub("", _SEPARATORS.sub("", text))


def _repeated_unit(text: str) -> str | None:
    """The shortest unit that ``text`` repeats (at least twice), or None."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def _sequential(text: str) -> bool:
    """Each character one after (or one before) the previous: ``123456...``, ``abcdef...``, ``987654...``."""
    if len(text) < 3:
        return False
    steps = set()
    for a, b in zip(text, text[1:], strict=False):
        step = ord(b) - ord(a)
        if a.isdigit() and b.isdigit() and abs(step) == 9:  # keyboards and counters wrap: ...7890123...
            step = -step // 9
        steps.add(step)
    return steps in ({1}, {-1})


def _context_words(username: str, display_name: str) -> set[str]:
    words = {SERVICE_NAME, username.lower(), _SEPARATORS.sub("", username.lower()), _core(username.lower())}
    name = display_name.lower()
    words |= {name, _SEPARATORS.sub("", name), _core(name)}
    return {w for w in words if len(w) >= 3}


def problem(password: str, username: str = "", display_name: str = "") -> str | None:
    """Why ``password`` may not be chosen by this user, in plain words; None when it may."""
    text = normalized(password)
    if len(text) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters (a few words make a good one)"
    if len(text) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    lower = text.lower()
    compact = _SEPARATORS.sub("", lower)
    core = _core(lower)
    context = _context_words(username, display_name)
    for candidate in {lower, compact, core}:
        if candidate in context or (_repeated_unit(candidate) or "") in context:
            return "the password must not be the user name, the name of the person or the name of this service"
    blocklist = common_passwords()
    for candidate in {lower, compact, core}:
        if candidate in blocklist or (_repeated_unit(candidate) or "") in blocklist:
            return "this password is on the list of common or breached passwords; choose another"
    for candidate in {compact, core} - {""}:
        unit = _repeated_unit(candidate)
        if (unit is not None and len(unit) <= _SHORT_UNIT) or _sequential(candidate):
            return "the password must not be a run of repeated or consecutive characters"
    return None


def check(password: str, username: str = "", display_name: str = "") -> None:
    """Raise ``WeakPassword`` (with the reason) unless the password meets the policy.

    The password is checked in its normalised form but hashed as typed: sign-in compares what is typed
    with the hash, and normalising there too would lock out every password set before this policy.
    """
    reason = problem(password, username, display_name)
    if reason is not None:
        raise WeakPassword(reason)
