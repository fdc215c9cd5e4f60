"""One line per assessment: a registry-style overview of a cohort."""

from __future__ import annotations

from allpath.domain.results import Assessment

COLUMNS = ("record", "state", "risk_group", "cog_risk_group", "relapse", "populations", "provisional")


def summary_row(index: int, a: Assessment) -> tuple[str, ...]:
    """The overview line of one assessment."""
    relapse = a.get("relapse")
    relapse_text = "-"
    if relapse:
        # For a first relapse an absent risk group waits for data ("?"); later relapses are not covered ("-").
        open_mark = "?" if relapse["number"] == 1 else "-"
        relapse_text = f"#{relapse['number']} {relapse['timing'] or '-'} {relapse['risk_group'] or open_mark}"
    return (
        a.get("record_id") or f"#{index}",
        a["disease_state"],
        a["risk_group"] or "-",
        a["cog_risk_group"] or "-",
        relapse_text,
        ",".join(a["populations"]) or "-",
        f"yes ({len(a['missing'])} missing)" if a["provisional"] else "no",
    )


def summary_table(lines_in: list[tuple[str, ...]], disclaimer: str) -> str:
    """A fixed-width table of overview lines, with the disclaimer underneath."""
    rows = [COLUMNS, *lines_in]
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if disclaimer:
        lines += ["", disclaimer]
    return "\n".join(lines) + "\n"
