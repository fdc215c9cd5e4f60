"""The text renderers of the treatment commands: the roadmap, the doses and the survivorship plan as plain text
for a person at a terminal (88 columns). They only format; every value comes from the result they are given.

They write in the language of the current rendering (``use_locale``, the command's ``--lang``): their own words
from the catalogs, numbers as the locale writes them (Babel); the knowledge texts are the knowledge base's,
loaded in that language by the command. Dates stay ISO (a table a person compares with a calendar).
"""

from __future__ import annotations

import textwrap

from babel.numbers import format_decimal

from allpath.domain.results import (
    DoseLine,
    PhaseDoses,
    Roadmap,
    RoadmapPhase,
    SurvivorshipItem,
    SurvivorshipPlan,
)
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, marked, ngettext

TEXT_WIDTH = 88


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text, TEXT_WIDTH, initial_indent=indent if first is None else first, subsequent_indent=indent
    ) or [""]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join([*(str(c).ljust(w) for c, w in zip(row, widths, strict=False)), str(row[-1])]).rstrip()

    return [line(header), line(tuple("-" * len(h) for h in header)), *(line(r) for r in rows)]


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if current_locale() != DEFAULT_LOCALE:
        return format_decimal(round(value, 3), locale=current_locale())
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _count(value: float) -> str:
    """A count of weeks or cycles (4, 4.5; Spanish 4,5)."""
    return f"{value:g}" if current_locale() == DEFAULT_LOCALE else format_decimal(value, locale=current_locale())


def _weeks(value: float) -> str:
    return ngettext("{count} week", "{count} weeks", 1 if value == 1 else 2).format(count=_count(value))


def _record_title(kind: str, record_id: str | None) -> str:
    return gettext("{title} for record {record_id}").format(title=kind, record_id=record_id) if record_id else kind


def roadmap_text(record_id: str | None, result: Roadmap) -> str:
    lines = [_record_title(gettext("Treatment roadmap"), record_id), ""]
    regimen = result["regimen"]
    if regimen is None:
        lines.append(gettext("No roadmap for this child."))
        for reason in result["not_covered"]:
            lines += _wrap(reason, "  ", "- ")
        if result["missing"]:
            lines += _wrap(gettext("Waiting for: {inputs}").format(inputs=", ".join(result["missing"])))
    else:
        lines += _wrap(gettext("Regimen: {label} [{id}]").format(label=regimen["label"], id=regimen["id"]))
        lines += _wrap(gettext("Source: {section}").format(section=regimen["source"]["section"]))
        if result["provisional"]:
            waiting = [m for m in result["missing"] if m != "treatment_start_date"]
            lines += _wrap(
                gettext("Provisional: the regimen may still change ({inputs}).").format(inputs=", ".join(waiting))
                if waiting
                else gettext("Provisional: the regimen may still change.")
            )
        if result["start_date"]:
            lines += [
                gettext("First day of treatment: {day} (dates assume no delays)").format(day=result["start_date"])
            ]
        else:
            lines += _wrap(gettext("No dates: give the first day of treatment (treatment_start_date or --start)."))
        lines += ["", gettext("Phases")]
        rows: list[tuple[str, ...]] = [
            (
                p["label"],
                p["start"] or "-",
                p["end"] or "-",
                gettext(_CONFIDENCE.get(p["confidence"], p["confidence"])),
                _phase_length(p),
            )
            for p in result["phases"]
        ]
        lines += _table(_words_of(("phase", "start", "end", "confidence", "length")), rows)
        bases = [p for p in result["phases"] if p["length_basis"]]
        for phase in bases:
            lines += _wrap(f"{phase['label']}: {phase['length_basis']}.", "  ", "* ")
        lines += ["", gettext("Checkpoints")]
        checkpoints: list[tuple[str, ...]] = [
            (c["date"] or "-", c["label"], gettext("recorded") if c["result_known"] else gettext("to do"))
            for c in result["checkpoints"]
        ]
        lines += _table(_words_of(("date", "test", "result")), checkpoints)
        end = result["end_of_therapy"]
        if end is not None:  # a roadmap with a regimen always has its end of therapy (dated or not)
            lines += [""]
            day = end["date"] or gettext("not dated")
            lines += _wrap(gettext("End of therapy: {day}.").format(day=day) + f" {end['rule']}")
    for note in result["notes"]:
        confidence = gettext(_CONFIDENCE.get(note["confidence"], note["confidence"]))
        lines += [""] + _wrap(
            gettext("Note ({confidence} confidence): {text}").format(confidence=confidence, text=note["text"])
        )
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


# The columns of the tables and the confidence levels, marked for the catalog and translated where shown.
_COLUMNS = {
    "phase": marked("phase"),
    "start": marked("start"),
    "end": marked("end"),
    "confidence": marked("confidence"),
    "length": marked("length"),
    "date": marked("date"),
    "test": marked("test"),
    "result": marked("result"),
}
_CONFIDENCE = {"high": marked("high"), "moderate": marked("moderate"), "low": marked("low")}


def _words_of(columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(gettext(_COLUMNS[column]) for column in columns)


def _phase_length(phase: RoadmapPhase) -> str:
    """How long a phase lasts, as the roadmap table says it ("4 weeks", "12-week cycles (about 8), until ...")."""
    if not phase["length_known"]:
        return gettext("not given in the sources")
    length = _weeks(phase["weeks"]) if phase["weeks"] else ""
    if phase["cycle_weeks"]:
        length = gettext("{weeks}-week cycles").format(weeks=_count(phase["cycle_weeks"]))
        cycles = phase.get("cycles")
        if cycles:
            length += " " + gettext("(about {count})").format(count=cycles)
    if phase["until"] == "total_duration":
        length += (", " if length else "") + gettext("until the end of therapy")
    return length


def _dose_amount(line: DoseLine) -> str:
    unit = line["unit"]
    if line["dose_range"] and line["dose"] is None:
        low, high = line["dose_range"]
        return f"{_number(low)} to {_number(high)} {unit}"
    return f"{_number(line['dose'])} {unit}"


def doses_text(record_id: str | None, result: PhaseDoses) -> str:
    bsa = result["body_surface_area"]
    lines = [
        _record_title("Doses", record_id),
        "",
        *_wrap(f"Regimen {result['regimen']}, phase: {result['phase_label']} [{result['phase']}]"),
        f"Body surface area: {bsa['m2']} m2 ({bsa['formula']}; weight {_number(result['weight_kg'])} kg, "
        f"height {_number(result['height_cm'])} cm)",
    ]
    if result["age_years"] is not None:
        lines.append(f"Age: {result['age_years']} years ({result['age_basis']})")
    lines.append("")
    if not result["lines"]:
        lines += _wrap("No doses: the knowledge base lists no drugs for this phase (not covered by its sources).")
    for line in result["lines"]:
        name = f"{line['label']} ({_words(line['route'])})"
        if line["status"] == "refused":
            from allpath.domain.labels import field_label

            refusal = line["refusal"] or ""
            unnamed = [field_label(m) for m in line["missing"] if m not in refusal]
            missing = f" (missing: {', '.join(unnamed)})" if unnamed else ""
            lines += _wrap(f"{name}: NOT CALCULATED: {refusal}{missing}", "    ", "- ")
            continue
        # The engine words each line ("5.3 mg per dose, three times a week instead of every day."): its
        # text, never the frequency token.
        amount = str(line.get("text") or f"{_dose_amount(line)} {line['per']}; {line['schedule']}").rstrip(".")
        lines += _wrap(
            f"{name}: {amount}. Basis {line['basis']}; {line['confidence']} confidence.",
            "    ",
            "- ",
        )
        if line["cap"] is not None:
            capped = "CAPPED: " if line["capped"] else ""
            lines += _wrap(
                f"{capped}cap {_number(line['cap'])} {line['unit']} per dose. {line.get('cap_explanation') or ''}",
                "    ",
                "    ",
            )
        if line["adjustment"]:
            adjustment = line["adjustment"]
            lines += _wrap(f"TPMT/NUDT15 adjustment: {adjustment['explanation']}", "    ", "    ")
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


BASIS_WORDS = {
    "recorded": marked("the treatment recorded as given"),
    "planned": marked("the treatment planned by the roadmap"),
    "none": marked("no treatment known (no exposures recorded and no roadmap)"),
}


def survivorship_text(record_id: str | None, result: SurvivorshipPlan) -> str:
    exposures = result["exposures"]
    lines = [_record_title(gettext("Survivorship plan"), record_id), ""]
    basis = gettext(BASIS_WORDS[result["basis"]]) if result["basis"] in BASIS_WORDS else result["basis"]
    lines += _wrap(gettext("Based on: {basis}.").format(basis=basis))
    end = result["end_of_therapy_date"] or gettext("not known")
    lines.append(gettext("End of therapy: {day}").format(day=end))
    total = exposures["doxorubicin_equivalent_mg_per_m2"]
    parts = ", ".join(
        f"{a['drug']} {_number(a['mg_per_m2'])} mg/m2 x {_number(a['factor'])}" for a in exposures["anthracyclines"]
    )
    anthracyclines = gettext("Anthracyclines: {total} mg/m2 doxorubicin equivalent").format(total=_number(total))
    lines += _wrap(anthracyclines + (f" ({parts})" if parts else ""))
    for alternative in exposures["alternative_factors"]:
        said = (
            gettext("with {label}: {total} mg/m2, which would change the heart surveillance")
            if alternative["changes_surveillance"]
            else gettext("with {label}: {total} mg/m2, which would not change the heart surveillance")
        )
        total_then = _number(alternative["doxorubicin_equivalent_mg_per_m2"])
        lines += _wrap(said.format(label=alternative["label"], total=total_then), "    ", "  - ")
    lines.append(
        gettext("Radiation: chest {chest} Gy, cranial {cranial} Gy").format(
            chest=_number(exposures["chest_radiation_gy"]), cranial=_number(exposures["cranial_radiation_gy"])
        )
    )
    if exposures["drugs"]:
        lines += _wrap(gettext("Medicines: {names}").format(names=", ".join(exposures["drugs"])))
    lines += ["", gettext("Follow-up")]
    for item in result["items"]:
        lines += _wrap(_follow_up_line(item), "    ", "- ")
    if result["not_covered"]:
        lines += ["", gettext("Not covered")]
        for entry in result["not_covered"]:
            lines += _wrap(entry["text"], "    ", "- ")
    if result["provisional"]:
        lines += ["", *_wrap(gettext("Provisional, waiting for: {inputs}").format(inputs=", ".join(result["missing"])))]
    for note in result["notes"]:
        lines += ["", *_wrap(note)]
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


def _follow_up_line(item: SurvivorshipItem) -> str:
    """One follow-up item: the late effect, its test and when, its strength and start, the explanation."""
    if item["not_covered"]:
        # A not-covered item claims nothing, so it shows no confidence.
        return f"{item['late_effect']}: " + gettext("NOT COVERED:") + " " + item["explanation"]
    detail = item["test"] or gettext("no test")
    if item["interval_years"]:
        detail += " " + gettext("every {years} years").format(years=_number(item["interval_years"]))
    if item["strength"]:
        detail += f" ({item['strength']})"
    start = item["start"]
    if start:
        dates = [gettext("not before {day}").format(day=start["not_before"])] if start.get("not_before") else []
        if start.get("no_later_than"):
            dates.append(gettext("no later than {day}").format(day=start["no_later_than"]))
        detail += f"; {start['rule']}" + (f" ({', '.join(dates)})" if dates else "")
    if item["schedule_not_covered"]:
        detail += "; " + gettext("schedule not covered")
    confidence = gettext(_CONFIDENCE.get(item["confidence"], item["confidence"]))
    tail = " [" + gettext("{confidence} confidence").format(confidence=confidence) + "]"
    return f"{item['late_effect']}: {detail}. {item['explanation']}{tail}"
