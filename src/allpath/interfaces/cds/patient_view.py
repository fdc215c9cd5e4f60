"""``patient-view``: the risk group and its basis, the tests still missing, and the current treatment phase.

The patient's FHIR resources become a patient record through the FHIR importer; the application layer
assesses it and builds its roadmap (``allpath.service.hook_patient_view``), and this module turns the answer
into cards. A patient without a confirmed diagnosis of acute lymphoblastic leukemia among the Conditions gets
no card: allpath has nothing to say.
"""

from __future__ import annotations

from datetime import date

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment, Roadmap, RoadmapPhase
from allpath.errors import InputError
from allpath.interfaces.cds.cards import Card, Cards, Indicator, bullets, clip, escape, number
from allpath.interfaces.cds.data import PatientData, Resource, as_dict, as_list, text_of
from allpath.interfaces.cds.order_reading import drug_of
from allpath.interfaces.fhir import ImportResult
from allpath.interfaces.fhir import codes as c
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import PatientViewAnswer, hook_patient_view

_ALL = {"acute_lymphoblastic_leukemia", "b_all", "t_all"}
_NOT_A_DIAGNOSIS = {"refuted", "entered-in-error", "unconfirmed", "provisional", "differential"}
_BASIS_SCHEMES = ("disease_state", "risk_group", "cog_risk_group", "comparison", "relapse_timing", "relapse_risk_group")


def has_all_diagnosis(resources: list[Resource]) -> bool:
    """Whether a confirmed (or not refuted) Condition of ALL is among the resources."""
    lookup = c.lookup()
    for r in resources:
        if r.get("resourceType") != "Condition":
            continue
        code = as_dict(r.get("code"))
        if not lookup.concepts_of(as_list(code.get("coding"))) & _ALL:
            continue
        status = as_dict(r.get("verificationStatus"))
        codes = {str(x.get("code")) for x in as_list(status.get("coding")) if isinstance(x, dict)}
        if not codes & _NOT_A_DIAGNOSIS:
            return True
    return False


def patient_view_cards(kb: KnowledgeBase, cards: Cards, data: PatientData, today: date) -> list[Card]:
    if not has_all_diagnosis(data.resources):
        return []
    imported = data.imported()
    answer = hook_patient_view(kb, imported.record)
    out = [risk_card(kb, cards, answer.assessment, imported)]
    missing = missing_card(kb, cards, answer.record, answer.assessment, answer.roadmap, data)
    if missing is not None:
        out.append(missing)
    if answer.record.treatment_start_date is not None:
        out.append(phase_card(cards, answer, data, today))
    return out


# ---- (a) the risk group and its basis --------------------------------------------------------------------


def _group_summary(assessment: Assessment) -> tuple[str, bool]:
    """The summary of the risk card, and whether the answer is still open."""
    state = assessment["disease_state"]
    provisional = bool(assessment["provisional"])
    if state == "relapsed":
        relapse = assessment["relapse"]
        group = relapse["risk_group"] if relapse else None
        timing = f", {relapse['timing']}" if relapse and relapse["timing"] else ""
        head = f"Relapsed ALL (relapse {relapse['number'] if relapse else '?'}{timing})"
        if group:
            return f"{head}: relapse risk group {group.replace('_', ' ')}", provisional
        return f"{head}: relapse risk group not determined", True
    if state == "refractory":
        return "Refractory ALL: no response to the first treatment", provisional
    label = assessment.get("risk_group_label")
    if label is None:
        return "Risk group not yet determined: results are missing", True
    text = f"Risk group: {label} (NCI/PDQ)"
    if assessment.get("cog_risk_group_label"):
        text += f", {assessment['cog_risk_group_label']}"
    if provisional:
        text += "; provisional until missing results are in"
    return text, provisional


def risk_card(kb: KnowledgeBase, cards: Cards, assessment: Assessment, imported: ImportResult) -> Card:
    summary, open_ = _group_summary(assessment)
    lines = []
    if assessment.get("risk_group_label"):
        lines.append(f"**Risk group (NCI/PDQ):** {assessment['risk_group_label']}")
        if assessment.get("risk_group_meaning"):
            lines[-1] += f" — {assessment['risk_group_meaning']}"
    if assessment.get("cog_risk_group_label"):
        lines.append(f"**Finer (COG) risk group:** {assessment['cog_risk_group_label']}")
    if assessment["provisional"]:
        lines.append("**Provisional:** missing results could still change the group (see the missing tests).")
    factors = [f for f in assessment["factors"] if f["scheme"] in _BASIS_SCHEMES]
    factors.sort(key=lambda f: not f.get("decides", False))
    basis = []
    for f in factors:
        inputs = ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in f["inputs"].items())
        item = f"{'**Decides:** ' if f.get('decides') else ''}{f['explanation']}"
        if inputs:
            item += f" (inputs: {inputs})"
        item += f"; confidence {f['confidence']}. Source: {cards.cite(f['source'])}"
        for e in f.get("evidence") or []:
            item += f"; {cards.cite(e)}"
        basis.append(item)
    detail = "\n\n".join(lines)
    if basis:
        detail += "\n\n**Basis (each rule that applied, with its inputs and source):**\n\n" + bullets(basis)
    if imported.conflicts:
        left_out = [
            f"{escape(x['field'])}: {_count(x['values'])} different values in the EHR; left out, not chosen"
            for x in imported.conflicts
        ]
        detail += "\n\n**Values left out because the EHR's records disagree:**\n\n" + bullets(left_out)
    links = []
    seen: set[str] = set()
    for f in factors:
        if f.get("decides"):
            link = cards.link(f"Basis: {f['source']['section']}", f["source"])
            if link and link["url"] not in seen:
                seen.add(link["url"])
                links.append(link)
    return cards.card(summary, "warning" if open_ else "info", detail, links=links[:3])


def _count(values: object) -> int:
    """How many values an import conflict lists (a list of the values the EHR's records disagree on)."""
    return len(values) if isinstance(values, list) else 0


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        return number(float(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


# ---- (b) the tests still missing -------------------------------------------------------------------------


def _needs_thiopurine(kb: KnowledgeBase, roadmap: Roadmap, data: PatientData) -> bool:
    """A regimen or a current order with mercaptopurine or thioguanine."""
    thiopurines = set(kb.therapy.pgx_drugs)
    if any(d["drug"] in thiopurines for p in roadmap["phases"] for d in p["drugs"]):
        return True
    return any(
        r.get("resourceType") == "MedicationRequest"
        and text_of(r.get("status")) in ("active", "draft", "on-hold")
        and drug_of(r, kb) in thiopurines
        for r in data.resources
    )


def missing_card(
    kb: KnowledgeBase,
    cards: Cards,
    record: PatientRecord,
    assessment: Assessment,
    roadmap: Roadmap,
    data: PatientData,
) -> Card | None:
    items = []
    labels = []
    for test in assessment["workup"]:
        provides = ", ".join(p.replace("response.", "").replace("_", " ") for p in test["provides"])
        items.append(f"**{test['label']}** — {test['purpose']} Gives: {provides}. Source: {cards.cite(test['source'])}")
        labels.append(test["label"].split(" (")[0])
    covered = {p for test in assessment["workup"] for p in test["provides"]}
    for path in assessment["missing"]:
        if path not in covered and not any(p.startswith(path + ".") for p in covered):
            items.append(f"**{path.replace('_', ' ')}**: not in the EHR data allpath received")
    genotype = record.pharmacogenomics
    unknown = [g.upper() for g in ("tpmt", "nudt15") if getattr(genotype, g, None) is None]
    if unknown and _needs_thiopurine(kb, roadmap, data):
        items.append(
            f"**{' and '.join(unknown)} phenotype** — needed before mercaptopurine or thioguanine is dosed: the "
            "starting dose depends on it (CPIC)."
        )
        labels.append(f"{'/'.join(unknown)} phenotype")
    if not items:
        return None
    summary = f"{len(labels)} test{'s' if len(labels) > 1 else ''} still missing: {', '.join(labels)}" if labels else ""
    summary = summary or f"Missing inputs: {', '.join(p.replace('_', ' ') for p in assessment['missing'])}"
    detail = "**Still missing** (each could change the assessment or the treatment plan):\n\n" + bullets(items)
    upcoming = assessment.get("upcoming") or []
    if upcoming:
        later = ", ".join(p.replace("response.", "").replace("_", " ") for p in upcoming)
        detail += f"\n\nLater checkpoints that could still raise the group: {later}."
    if data.unsatisfied:
        detail += "\n\nData allpath did not receive: " + ", ".join(sorted(data.unsatisfied)) + "."
    indicator: Indicator = "warning" if assessment["missing"] or unknown else "info"
    return cards.card(clip(summary), indicator, detail)


# ---- (c) the current treatment phase ----------------------------------------------------------------------


def _current(roadmap: Roadmap, today: date) -> RoadmapPhase | None:
    for phase in roadmap["phases"]:
        if phase["start"] and date.fromisoformat(phase["start"]) <= today:
            if phase["end"] is None or today <= date.fromisoformat(phase["end"]):
                return phase
    return None


def phase_card(cards: Cards, answer: PatientViewAnswer, data: PatientData, today: date) -> Card:
    roadmap = answer.roadmap
    start = answer.record.treatment_start_date
    assert start is not None
    if roadmap["regimen"] is None:
        reasons = roadmap["not_covered"] or ["the regimen cannot be chosen yet: the risk group is not known"]
        return cards.card(
            "No treatment roadmap: allpath's sources give no schedule for this child yet",
            "info",
            f"Treatment started on {start.isoformat()}.\n\n" + bullets(reasons),
        )
    regimen = roadmap["regimen"]
    end_of_therapy = roadmap["end_of_therapy"]
    end = end_of_therapy["date"] if end_of_therapy else None
    phase = _current(roadmap, today)
    lines = [f"**Regimen:** {regimen['label']} — {cards.cite(regimen['source'])}"]
    if today < start:
        first = roadmap["phases"][0]
        summary = f"Treatment starts on {start.isoformat()} with {first['label'].lower()}"
        phase = first
    elif phase is None and end and today >= date.fromisoformat(end):
        summary = f"Planned end of therapy reached on {end}"
    elif phase is None:
        summary = "Current phase not known: a phase length is not given in the sources"
    else:
        started = phase["start"]
        assert started is not None, "the current phase is a dated one (_current)"
        week = (today - date.fromisoformat(started)).days // 7 + 1
        summary = f"Current phase: {phase['label']}, week {week} (since {phase['start']})"
    if phase is not None:
        until = f" to {phase['end']}" if phase["end"] else ""
        lines.append(f"**Phase:** {phase['label']}, from {phase['start']}{until}; confidence {phase['confidence']}")
        lines.append("**Drugs of this phase:**\n\n" + _phase_drugs(answer, phase, data, today))
        for e in phase["evidence"]:
            lines.append(f"Source: {cards.cite(e)}")
    checkpoints = [x for x in roadmap["checkpoints"] if x["date"] and x["date"] >= today.isoformat()]
    if checkpoints:
        nxt = checkpoints[0]
        lines.append(f"**Next checkpoint:** {nxt['label']} on {nxt['date']} — {nxt['purpose']}")
    if end and end_of_therapy:
        lines.append(f"**Planned end of therapy:** {end} ({end_of_therapy['rule']})")
    if roadmap["provisional"]:
        lines.append("**Provisional:** the regimen may still change when missing results come in.")
    lines.append("Dates assume that every phase started on time.")
    return cards.card(summary, "info", "\n\n".join(lines))


def _phase_drugs(answer: PatientViewAnswer, phase: RoadmapPhase, data: PatientData, today: date) -> str:
    try:
        doses = answer.doses(phase["id"], today)
    except InputError as error:
        listed = [f"{d['drug']} ({d['route'].replace('_', ' ')}): {d['schedule']}" for d in phase["drugs"]]
        return bullets(listed) + f"\n\nDoses not calculated: {error.message}."
    lines = []
    for line in doses["lines"]:
        text = f"{line['label']} ({line['route'].replace('_', ' ')})"
        text += f", {line['basis']}: " if line["basis"] else ": "
        if line["status"] == "refused":
            text += f"not calculated — {str(line['refusal']).rstrip('.')}"
        elif line["dose_range"]:
            low, high = line["dose_range"]
            text += f"{number(low)}–{number(high)} {line['unit']} {line['per']}"
        elif line["dose"] is not None:  # a line that is not refused has its dose or its range
            text += f"{number(line['dose'])} {line['unit']} {line['per']}" + (" (capped)" if line["capped"] else "")
        if line.get("frequency") == "three_times_weekly":
            text += ", three times a week"
        lines.append(f"{text}; {line['schedule']}")
    bsa = doses["body_surface_area"]["m2"]
    measured = ", ".join(f"{k.replace('body_', '')} of {v}" for k, v in sorted(data.measured.items()))
    head = f"Body surface area {number(bsa)} m² (Mosteller; {number(doses['weight_kg'])} kg, "
    head += f"{number(doses['height_cm'])} cm{'; ' + measured if measured else ''})."
    return head + "\n\n" + bullets(lines)
