"""A plain-language report of an assessment for a family: what the results mean, the plan, the care team,
and (with the care overview) the road ahead and the check-ups after treatment.

The report is built once as a list of blocks (``blocks``) and then rendered as text or Markdown, so both
versions always say the same thing. Short sentences, terms explained, the source section named for each
statement, and the disclaimer first and last.
"""

from __future__ import annotations

import re

from allpath.domain.results import Assessment, CareOverview, Factor, Roadmap
from allpath.domain.results.trials import TrialSearch
from allpath.interfaces.i18n import gettext, marked, shown_date
from allpath.interfaces.report.blocks import Block, cited, english, section, with_english, without_source_notes
from allpath.interfaces.report.treatment import length_blocks, roadmap_blocks, survivorship_blocks
from allpath.interfaces.report.trials import trial_blocks
from allpath.knowledge.loader import KnowledgeBase

# The words of a relapse's timing (the assessment's ``timing``), for the catalog.
_TIMING_WORDS = {"early": marked("early"), "late": marked("late")}


def _genetics_seen(factors: list[Factor]) -> list[str]:
    """The genetic findings that the group rules looked at, in the order first seen."""
    seen: list[str] = []
    for f in factors:
        if f["scheme"] in ("risk_group", "cog_risk_group"):
            tokens = f["inputs"].get("genetics")
            for token in tokens if isinstance(tokens, list) else []:
                if token not in seen:
                    seen.append(token)
    return seen


def _risk_blocks(a: Assessment, kb: KnowledgeBase) -> list[Block]:
    blocks = [Block("heading", gettext("Risk group"))]
    group = a["risk_group"]
    meaning = kb.text.risk_group_meaning[group or "none"]
    if group:
        label = kb.risk_group.spec.labels[group]
        blocks.append(
            Block(
                "paragraph",
                gettext("Your child's risk group is: {label}. {meaning}").format(label=label, meaning=meaning),
            )
        )
        if a["provisional"]:
            blocks.append(
                Block(
                    "paragraph",
                    gettext(
                        "This is not final yet. Some results are still missing, and they could move "
                        "your child to a higher group. The list of tests below shows which ones."
                    ),
                )
            )
    else:
        blocks.append(Block("paragraph", meaning))
    reasons = [
        f"{f['plain'] or f['explanation']} {section(f['source'])}"
        for f in a["factors"]
        if f["scheme"] == "risk_group" and (f.get("decides") or f["effect"] == "note")
    ]
    # Each genetic finding behind a group, favourable or not, in plain words.
    genetics = kb.text.genetic_results
    reasons += [
        f"{genetics.meanings[token]} {cited(genetics.cite, kb)}"
        for token in _genetics_seen(a["factors"])
        if token in genetics.meanings
    ]
    if reasons:
        blocks.append(Block("paragraph", gettext("The results behind it:")))
        blocks.append(Block("bullets", items=tuple(reasons)))
    if a["cog_risk_group"]:
        cog = a["cog_risk_group"]
        cog_label = kb.cog_risk_group.spec.labels[cog]
        cog_meaning = kb.text.cog_risk_group_meaning
        finer = gettext(
            "The care team also uses a finer grouping from the Children's Oncology Group (COG). In that grouping "
            "your child is in {group}."
        ).format(group=cog_label)
        differ = gettext(
            "The two groupings use different rules, so they do not always match. The team can explain any difference."
        )
        blocks.append(Block("paragraph", f"{finer} {cog_meaning.meanings[cog]} {differ} {cited(cog_meaning.cite, kb)}"))
        cog_reasons = [
            f"{f['plain']} {section(f['source'])}"
            for f in a["factors"]
            if f["scheme"] == "cog_risk_group" and f.get("decides") and f["plain"]
        ]
        if cog_reasons:
            blocks.append(Block("paragraph", gettext("The results behind the COG group:")))
            blocks.append(Block("bullets", items=tuple(cog_reasons)))
    return blocks


def _relapse_blocks(a: Assessment, kb: KnowledgeBase) -> list[Block]:
    """The relapse said plainly: where and when, its group in one sentence, the chemotherapy of relapse."""
    r = a["relapse"]
    if r is None:
        return []
    words = kb.text.relapse
    joiner = " " + gettext("and") + " "
    sites = joiner.join(kb.text.relapse_site_labels[site] for site in r["sites"])
    found_in = (
        gettext("It was found in: {sites}.").format(sites=sites)
        if sites
        else gettext("Where it was found is not recorded yet.")
    )
    text = gettext("This is relapse number {number}. {found_in}").format(number=r["number"], found_in=found_in)
    if r["timing"]:
        article = "an" if r["timing"][0] in "aeiou" else "a"
        timing = gettext(_TIMING_WORDS.get(r["timing"], r["timing"]))
        # A language without the English article leaves {article} out of its sentence.
        text += " " + gettext("The doctors call it {article} {timing} relapse.").format(article=article, timing=timing)
    paragraphs = [text]
    if r["risk_group"]:
        group = words.group_sentence.format(group=words.group_words[r["risk_group"]])
        paragraphs.append(f"{group} {r['risk_group_meaning'] or ''}".strip())
    else:
        paragraphs.append(words.group_unknown)
    if any(t["code"] == "combination_chemotherapy" for t in a["plan"]["therapies"]):
        paragraphs.append(f"{words.chemotherapy} {cited(words.cite, kb)}")
    return [Block("heading", gettext("The relapse")), *(Block("paragraph", p) for p in paragraphs)]


def _glossary(blocks: list[Block], kb: KnowledgeBase) -> list[str]:
    """The glossary terms this report uses, each with its meaning: a term is explained where it is used."""
    # Source notes name documents (their titles may hold a term) and are not the report's own words.
    said = [b.text for b in blocks] + [i for b in blocks for i in b.items]
    text = " ".join(without_source_notes(part) for part in said)
    return [
        f"{g.term}: {g.meaning}"
        for g in kb.text.glossary
        if re.search(rf"\b{re.escape(g.term)}\b", text, flags=0 if g.term.isupper() else re.IGNORECASE)
    ]


def _opening(a: Assessment, kb: KnowledgeBase, who: str) -> list[Block]:
    """The title, the disclaimer, what to do about a fever, and where things stand."""
    fever = kb.text.fever_during_treatment
    blocks = [
        Block("title", gettext("Family report for {who}").format(who=who)),
        Block("paragraph", kb.text.family_disclaimer),
        # A translation not yet reviewed by a clinician says so, in its own language (issue 14).
        *([Block("paragraph", t.review_notice)] if (t := kb.translation) and not t.reviewed_by_clinician else []),
        # First, before anything else: during treatment any fever is an emergency.
        Block("heading", fever.title),
        Block("bullets", items=(*fever.items[:-1], f"{fever.items[-1]} {cited(fever.cite, kb)}")),
        Block("heading", gettext("Where things stand")),
        Block("paragraph", kb.text.disease_state_meaning[a["disease_state"]]),
    ]
    if a.get("warnings"):
        # Values worth a second look (a unit, results that contradict each other): the care team checks them.
        blocks += [
            Block("heading", gettext("Results to check with the care team")),
            Block("bullets", items=tuple(w["message"] for w in a["warnings"])),
        ]
    return blocks


def _tests_blocks(a: Assessment, kb: KnowledgeBase) -> list[Block]:
    """The tests still needed, and what the tests (at diagnosis, or at relapse) are for."""
    blocks = []
    if a["workup"]:
        blocks.append(Block("heading", gettext("Tests still needed")))
        blocks.append(Block("paragraph", gettext("These results are not in yet. Each one can change the plan:")))
        blocks.append(Block("bullets", items=tuple(f"{w['label']}: {w['purpose']}" for w in a["workup"])))
    relapse_tests = kb.text.relapse.tests
    if a["relapse"]:
        # A relapse is judged by the tests at relapse, not by the work-up at diagnosis.
        tests = [t for t in a["diagnostic_tests"] if t["test"] in relapse_tests]
        heading = gettext("The tests at relapse")
    else:
        tests = [
            t
            for t in a["diagnostic_tests"]
            if t["status"] in ("recorded", "not part of the record") and t["test"] not in relapse_tests
        ]
        heading = gettext("What the tests are for")
    if tests:
        blocks.append(Block("heading", heading))
        blocks.append(Block("bullets", items=tuple(f"{t['label']}: {t['purpose']}" for t in tests)))
    return blocks


def _findings_blocks(a: Assessment, kb: KnowledgeBase) -> list[Block]:
    """The risk group or the relapse, what about the child shapes the plan, and the tests."""
    blocks = []
    if a["disease_state"] == "newly_diagnosed":
        blocks += _risk_blocks(a, kb)
    if a["relapse"]:
        blocks += _relapse_blocks(a, kb)
    populations = [f for f in a["factors"] if f["scheme"] == "populations"]
    if populations:
        blocks.append(Block("heading", gettext("Things about your child that shape the plan")))
        blocks.append(Block("bullets", items=tuple(f"{f['plain']} {section(f['source'])}" for f in populations)))
    return blocks + _tests_blocks(a, kb)


def _treatments_blocks(a: Assessment) -> list[Block]:
    """The treatments in the plan, those left out and why, and the medicines it names (no doses)."""
    plan = a["plan"]
    blocks = []
    if plan["therapies"]:
        items = tuple(
            f"{t['label']} ({t['certainty_meaning']}). {t['plain']} {section(t['source'])}" for t in plan["therapies"]
        )
        blocks += [Block("heading", gettext("Treatments in the plan")), Block("bullets", items=items)]
    withheld = plan.get("withheld") or []
    if withheld:
        # What the rules held back, and why: a family should not wonder why a treatment is not there.
        items = tuple(f"{w['label']}. {w['plain'] or w['explanation']} {section(w['source'])}" for w in withheld)
        blocks += [Block("paragraph", gettext("Left out of the plan:")), Block("bullets", items=items)]
    if plan["drugs"]:
        names = ", ".join(d["label"] for d in plan["drugs"])
        blocks.append(
            Block(
                "paragraph",
                gettext(
                    "Medicines named for this plan: {names}. The care team decides which ones your child gets, "
                    "and when."
                ).format(names=names),
            )
        )
    return blocks


def _plan_blocks(
    a: Assessment, kb: KnowledgeBase, treatment: CareOverview | None, roadmap: Roadmap | None
) -> list[Block]:
    """The phases, how long treatment lasts, the road ahead (with the care overview), the treatments and
    genetic counseling."""
    plan = a["plan"]
    blocks = []
    if plan["phases"]:
        blocks.append(Block("heading", gettext("The phases of treatment")))
        blocks.append(Block("numbered", items=tuple(f"{p['name']}: {p['goal']}" for p in plan["phases"])))
    blocks += length_blocks(treatment["roadmap"] if treatment is not None else roadmap, kb)
    if treatment is not None:
        blocks += roadmap_blocks(treatment["roadmap"])
    blocks += _treatments_blocks(a)
    counseling = [f for f in a["factors"] if f["scheme"] == "genetic_counseling"]
    if counseling:
        blocks.append(Block("heading", gettext("Genetic counseling")))
        blocks.append(Block("paragraph", f"{counseling[0]['plain']} {section(counseling[0]['source'])}"))
    return blocks


def _support_blocks(a: Assessment, kb: KnowledgeBase, treatment: CareOverview | None) -> list[Block]:
    """The care team, support, questions to ask, and what comes after treatment."""
    follow_up = a["follow_up"]
    return [
        Block("heading", gettext("Who is on the care team")),
        Block("bullets", items=tuple(kb.text.care_team.items)),
        Block("heading", gettext("Support for your family")),
        Block("paragraph", f"{kb.text.support.text} {cited(kb.text.support.cite, kb)}"),
        Block("heading", gettext("Questions you may want to ask")),
        Block("bullets", items=tuple(kb.text.questions_to_ask)),
        Block("heading", gettext("After treatment")),
        Block(
            "bullets",
            items=tuple(i["text"] for i in follow_up["follow_up"] + follow_up["late_effects"] + follow_up["cautions"]),
        ),
        *(survivorship_blocks(treatment["survivorship"]) if treatment is not None else []),
    ]


def _closing(a: Assessment, kb: KnowledgeBase) -> list[Block]:
    summary = kb.sources["pdq"]
    return [
        Block("rule"),
        Block("paragraph", a["disclaimer"]),
        Block(
            "paragraph",
            gettext(
                "Based on: {title}, revised {revised}, and the allpath clinical facts. Knowledge version "
                "{knowledge_version}, engine version {engine_version}."
            ).format(
                title=summary.title,
                revised=shown_date(summary.revised),
                knowledge_version=a["knowledge_version"],
                engine_version=a["engine_version"],
            ),
            english=english(summary.title),
        ),
    ]


def build_blocks(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    treatment: CareOverview | None = None,
    roadmap: Roadmap | None = None,
    child_name: str = "",
    trials: TrialSearch | None = None,
) -> list[Block]:
    """The family report of one assessment, as blocks; with ``treatment`` (the care overview) also the road
    ahead and the check-ups after treatment. Never the doses. ``roadmap`` (or the one of ``treatment``) gives how
    long treatment lasts. With ``trials`` (a trial search for the child), the trials to ask about follow the
    plan. The report names the child by ``child_name`` or says "your child": a record id is for software, never
    a heading for a family."""
    who = child_name.strip() or gettext("your child")
    blocks = _opening(a, kb, who) + _findings_blocks(a, kb) + _plan_blocks(a, kb, treatment, roadmap)
    if trials is not None:
        blocks += trial_blocks(trials, kb)
    blocks += _support_blocks(a, kb, treatment)
    glossary = _glossary(blocks, kb)
    if glossary:
        blocks += [Block("heading", gettext("Words used in this report")), Block("bullets", items=tuple(glossary))]
    return [with_english(block) for block in blocks] + _closing(a, kb)
