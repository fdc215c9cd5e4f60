"""One line per assessment: a registry-style overview of a cohort."""

from __future__ import annotations

from typing import Any

COLUMNS = ("record", "state", "risk_group", "cog_risk_group", "relapse", "populations", "provisional")


def _row(index: int, a: dict[str, Any]) -> tuple[str, ...]:
    relapse = a.get("relapse")
    relapse_text = "-"
    if relapse:
        relapse_text = f"#{relapse['number']} {relapse['timing'] or '?'} {relapse['risk_group'] or '?'}"
    return (
        a.get("record_id") or f"#{index}",
        a["disease_state"],
        a["risk_group"] or "-",
        a["cog_risk_group"] or "-",
        relapse_text,
        ",".join(a["populations"]) or "-",
        f"yes ({len(a['missing'])} missing)" if a["provisional"] else "no",
    )


def summary_table(assessments: list[dict[str, Any]]) -> str:
    """A fixed-width table of the assessments, with the disclaimer underneath."""
    rows = [COLUMNS, *(_row(i, a) for i, a in enumerate(assessments))]
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if assessments:
        lines += ["", assessments[0]["disclaimer"]]
    return "\n".join(lines) + "\n"
