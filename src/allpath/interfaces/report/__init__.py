"""The family report: a plain-language account of an assessment (and, with the care overview, of the road
ahead and the check-ups after treatment), built once as blocks and rendered as text, Markdown or HTML.

``family`` builds the report, ``treatment`` its treatment parts, ``blocks`` the blocks and their text and
Markdown renderings (the web app renders the same blocks as HTML).
"""

from __future__ import annotations

from allpath.interfaces.report.blocks import Block, render_markdown, render_text
from allpath.interfaces.report.family import build_blocks

__all__ = ["Block", "build_blocks", "render_markdown", "render_text"]
