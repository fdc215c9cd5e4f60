"""The text renderers of the treatment commands: the roadmap, the doses and the survivorship plan as plain text
for a person at a terminal (88 columns). They only format; every value comes from the result they are given.
"""

from __future__ import annotations

import textwrap

from allpath.domain.results import DoseLine, PhaseDoses, Roadmap, SurvivorshipPlan

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
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _record_title(kind: str, record_id: str | None) -> str:
    return f"{kind} for record {record_id}" if record_id else kind


def roadmap_text(record_id: str | None, result: Roadmap) -> str:
    lines = [_record_title("Treatment roadmap", record_id), ""]
    regimen = result["regimen"]
    if regimen is None:
        lines.append("No roadmap for this child.")
        for reason in result["not_covered"]:
            lines += _wrap(reason, "  ", "- ")
        if result["missing"]:
            lines += _wrap("Waiting for: " + ", ".join(result["missing"]))
    else:
        lines += _wrap(f"Regimen: {regimen['label']} [{regimen['id']}]")
        lines += _wrap(f"Source: {regimen['source']['section']}")
        if result["provisional"]:
            waiting = [m for m in result["missing"] if m != "treatment_start_date"]
            lines += _wrap(
                "Provisional: the regimen may still change" + (f" ({', '.join(waiting)})." if waiting else ".")
            )
        if result["start_date"]:
            lines += [f"First day of treatment: {result['start_date']} (dates assume no delays)"]
        else:
            lines += _wrap("No dates: give the first day of treatment (treatment_start_date or --start).")
        lines += ["", "Phases"]
        rows: list[tuple[str, ...]] = []
        for phase in result["phases"]:
            length = f"{phase['weeks']:g} weeks" if phase["weeks"] else ""
            if phase["cycle_weeks"]:
                length = f"{phase['cycle_weeks']:g}-week cycles" + (
                    f" (about {phase['cycles']})" if phase.get("cycles") else ""
                )
            if phase["until"] == "total_duration":
                length += (", " if length else "") + "until the end of therapy"
            if not phase["length_known"]:
                length = "not given in the sources"
            rows.append((phase["label"], phase["start"] or "-", phase["end"] or "-", phase["confidence"], length))
        lines += _table(("phase", "start", "end", "confidence", "length"), rows)
        bases = [p for p in result["phases"] if p["length_basis"]]
        for phase in bases:
            lines += _wrap(f"{phase['label']}: {phase['length_basis']}.", "  ", "* ")
        lines += ["", "Checkpoints"]
        checkpoints: list[tuple[str, ...]] = [
            (c["date"] or "-", c["label"], "recorded" if c["result_known"] else "to do") for c in result["checkpoints"]
        ]
        lines += _table(("date", "test", "result"), checkpoints)
        end = result["end_of_therapy"]
        if end is not None:  # a roadmap with a regimen always has its end of therapy (dated or not)
            lines += [""]
            lines += _wrap(f"End of therapy: {end['date'] or 'not dated'}. {end['rule']}")
    for note in result["notes"]:
        lines += [""] + _wrap(f"Note ({note['confidence']} confidence): {note['text']}")
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


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
    "recorded": "the treatment recorded as given",
    "planned": "the treatment planned by the roadmap",
    "none": "no treatment known (no exposures recorded and no roadmap)",
}


def survivorship_text(record_id: str | None, result: SurvivorshipPlan) -> str:
    exposures = result["exposures"]
    lines = [_record_title("Survivorship plan", record_id), ""]
    lines += _wrap(f"Based on: {BASIS_WORDS.get(result['basis'], result['basis'])}.")
    lines.append(f"End of therapy: {result['end_of_therapy_date'] or 'not known'}")
    total = exposures["doxorubicin_equivalent_mg_per_m2"]
    parts = ", ".join(
        f"{a['drug']} {_number(a['mg_per_m2'])} mg/m2 x {_number(a['factor'])}" for a in exposures["anthracyclines"]
    )
    lines += _wrap(f"Anthracyclines: {_number(total)} mg/m2 doxorubicin equivalent" + (f" ({parts})" if parts else ""))
    for alternative in exposures["alternative_factors"]:
        change = "would change" if alternative["changes_surveillance"] else "would not change"
        lines += _wrap(
            f"with {alternative['label']}: {_number(alternative['doxorubicin_equivalent_mg_per_m2'])} mg/m2, "
            f"which {change} the heart surveillance",
            "    ",
            "  - ",
        )
    lines.append(
        f"Radiation: chest {_number(exposures['chest_radiation_gy'])} Gy, "
        f"cranial {_number(exposures['cranial_radiation_gy'])} Gy"
    )
    if exposures["drugs"]:
        lines += _wrap("Medicines: " + ", ".join(exposures["drugs"]))
    lines += ["", "Follow-up"]
    for item in result["items"]:
        head = f"{item['late_effect']}"
        if item["not_covered"]:
            detail = "NOT COVERED: " + item["explanation"]
        else:
            test = item["test"] or "no test"
            when = f" every {_number(item['interval_years'])} years" if item["interval_years"] else ""
            detail = f"{test}{when}"
            if item["strength"]:
                detail += f" ({item['strength']})"
            start = item["start"]
            if start:
                dates = [f"not before {start['not_before']}"] if start.get("not_before") else []
                if start.get("no_later_than"):
                    dates.append(f"no later than {start['no_later_than']}")
                detail += f"; {start['rule']}" + (f" ({', '.join(dates)})" if dates else "")
            if item["schedule_not_covered"]:
                detail += "; schedule not covered"
            detail += f". {item['explanation']}"
        # A not-covered item claims nothing, so it shows no confidence.
        tail = "" if item["not_covered"] else f" [{item['confidence']} confidence]"
        lines += _wrap(f"{head}: {detail}{tail}", "    ", "- ")
    if result["not_covered"]:
        lines += ["", "Not covered"]
        for entry in result["not_covered"]:
            lines += _wrap(entry["text"], "    ", "- ")
    if result["provisional"]:
        lines += ["", *_wrap("Provisional, waiting for: " + ", ".join(result["missing"]))]
    for note in result["notes"]:
        lines += ["", *_wrap(note)]
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)
