"""Colour contrast of the style sheet: every text colour on its background reaches WCAG AA (4.5:1)."""

from __future__ import annotations

import re

import pytest

from allpath.interfaces.web.pages import STATIC_DIR

CSS = (STATIC_DIR / "allpath.css").read_text(encoding="utf-8")
VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))

# (text, background) as used in the style sheet: a variable name or a literal colour.
PAIRS = [
    ("text", "bg"),
    ("muted", "bg"),
    ("muted", "bg-soft"),
    ("primary", "bg"),
    ("#5b2d8e", "bg"),  # visited links
    ("#ffffff", "header"),
    ("#d9e4ef", "header"),
    ("#ffffff", "primary"),
    ("error", "bg"),
    ("warn-text", "warn-bg"),
    ("ok-text", "ok-bg"),
    ("high-text", "high-bg"),
    ("vhigh-text", "vhigh-bg"),
    ("#0b3d6b", "#e3eef9"),
    ("#4b2377", "#efe6f8"),
    ("#333a44", "#eceff3"),
    ("#2b323c", "#eceff3"),
    ("#083a66", "#dbe8f6"),
    ("text", "focus"),
    ("primary", "#e8f0f8"),
]


def _colour(name: str) -> str:
    return name if name.startswith("#") else VARIABLES[name]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_contrast_is_at_least_aa(text: str, background: str) -> None:
    ratio = contrast(_colour(text), _colour(background))
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"


def test_the_colours_are_in_the_style_sheet() -> None:
    for text, background in PAIRS:
        for colour in (text, background):
            assert colour in VARIABLES or colour.lower() in CSS.lower(), colour
