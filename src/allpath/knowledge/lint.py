"""Lint the knowledge base: every citation resolves, ids are unique, nothing is orphaned.

Errors make ``allpath kb lint`` exit non-zero. With the source documents at hand (``source_dirs``), the
lint also proves that each registered document is the one whose sha256 is recorded and that every
registered section of the summary is a heading line of its text.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from allpath.knowledge import schema as s
from allpath.knowledge.loader import KnowledgeBase


@dataclass
class LintReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    citations_checked: int = 0
    documents_verified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every (path, model) pair inside a validated knowledge file."""
    if isinstance(node, BaseModel):
        yield path, node
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _walk(item, f"{path}.{key}")


def heading_lines(text: str) -> set[str]:
    """Lines of a plain-text document that stand alone like headings."""
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith(" ")}


def lint(kb: KnowledgeBase, source_dirs: list[Path] | None = None) -> LintReport:
    report = LintReport()
    _check_citations_and_ids(kb, report)
    report.errors.extend(f"{item} is defined but never used" for item in kb.unused)
    _check_catalogue(kb, report)
    _check_order_checks(kb, report)
    _check_settings(kb, report)
    _check_translations(kb, report)
    for directory in source_dirs or []:
        _verify_documents(kb, directory, report)
    return report


def _check_citations_and_ids(kb: KnowledgeBase, report: LintReport) -> None:
    """Every citation names a registered section; rule ids are unique; no rule is surer than its evidence."""
    ids: Counter[str] = Counter()
    for name, model in kb.files.items():
        for path, node in _walk(model, name):
            if isinstance(node, s.Cite | s.Evidence):
                report.citations_checked += 1
                source = kb.sources.get(node.source)
                if source is None:
                    report.errors.append(f"{path}: cites unknown source {node.source!r}")
                elif node.section not in source.sections:
                    report.errors.append(f"{path}: section {node.section!r} is not a section of {source.id}")
            if isinstance(node, s._Explained):
                ids[node.id] += 1
                weakest = min((e.confidence for e in node.evidence), default="H", key="HM".index)
                if node.confidence == "H" and weakest == "M":
                    report.errors.append(f"{path}: {node.id} claims confidence H on evidence of confidence M")
    report.errors.extend(f"rule id {rule_id!r} is used {count} times" for rule_id, count in ids.items() if count > 1)


def _check_catalogue(kb: KnowledgeBase, report: LintReport) -> None:
    """Every catalogued therapy is used by the plan (an unused drug is only a warning: the source names it)."""
    used_drugs = {d for e in kb.plan for d in e.spec.drugs}
    report.warnings.extend(
        f"drug {drug!r} is catalogued from the source but no plan element uses it"
        for drug in kb.drugs
        if drug not in used_drugs
    )
    used_therapies = {t for e in kb.plan for t in e.spec.therapies}
    report.errors.extend(
        f"therapy {code!r} is catalogued but no plan element uses it"
        for code in kb.therapies
        if code not in used_therapies
    )


def _check_order_checks(kb: KnowledgeBase, report: LintReport) -> None:
    """Every drug the CDS order checks read has a drug code in ``fhir_codes.yaml`` (orders are read by code
    first) and a dose basis for its check (a cap per dose, or the pharmacogenomic rules of a thiopurine)."""
    coded = kb.fhir_codes.values.get("drug", {})
    for drug, rule in kb.order_checks.drugs.items():
        if not coded.get(drug):
            report.errors.append(f"order_checks.yaml: {drug} has no standard drug code in fhir_codes.yaml")
        if rule.check == "cap_per_dose" and kb.therapy.drugs[drug].cap_per_dose is None:
            report.errors.append(f"order_checks.yaml: {drug} is checked against a cap, but drugs.yaml gives none")
        if rule.check == "thiopurine_phenotypes" and drug not in kb.therapy.pgx_drugs:
            report.errors.append(f"order_checks.yaml: {drug} has no rules in pharmacogenomics.yaml")


_ALL_STATES = frozenset({"newly_diagnosed", "relapsed", "refractory"})
_ALL_LINEAGES = frozenset({"B", "T"})


def _ages(setting: s.Setting) -> tuple[float, float]:
    ages = setting.age_years
    low = ages.from_years if ages is not None and ages.from_years is not None else 0.0
    high = ages.below_years if ages is not None and ages.below_years is not None else float("inf")
    return low, high


def setting_mismatch(rule: s.Setting, evidence: s.Setting) -> tuple[list[str], list[str]]:
    """How evidence from the setting ``evidence`` fails to support a rule for the setting ``rule``.

    Returns (errors, warnings). A disease state of the rule that the evidence does not speak of is an error
    (findings in relapse do not carry over to newly diagnosed children, nor the reverse); so is a lineage or
    an age band that the evidence does not reach at all. Evidence narrower than the rule in lineage or age
    (B-ALL evidence behind a rule that also holds for T-ALL) is a warning for the reviewer.
    """
    errors: list[str] = []
    warnings: list[str] = []
    rule_states = set(rule.disease_state or _ALL_STATES)
    evidence_states = set(evidence.disease_state or _ALL_STATES)
    if not rule_states <= evidence_states:
        errors.append(f"the rule applies to {', '.join(sorted(rule_states - evidence_states))} disease")
    rule_lineages = set(rule.lineage or _ALL_LINEAGES)
    evidence_lineages = set(evidence.lineage or _ALL_LINEAGES)
    if not rule_lineages & evidence_lineages:
        errors.append(f"the rule is for lineage {'/'.join(sorted(rule_lineages))}")
    elif not rule_lineages <= evidence_lineages:
        warnings.append(f"the rule also holds for lineage {'/'.join(sorted(rule_lineages - evidence_lineages))}")
    (rule_low, rule_high), (evidence_low, evidence_high) = _ages(rule), _ages(evidence)
    if rule_high <= evidence_low or evidence_high <= rule_low:
        errors.append(f"the rule is for ages {rule_low:g} to under {rule_high:g}")
    elif rule_low < evidence_low or rule_high > evidence_high:
        warnings.append(f"the rule holds for ages {rule_low:g} to under {rule_high:g}")
    return errors, warnings


def _judge(
    kb: KnowledgeBase, where: str, rule_id: str, setting: str | None, evidence: list[s.Evidence], report: LintReport
) -> None:
    if not evidence:
        return
    if setting is None:
        report.errors.append(f"{where}: {rule_id} rests on evidence but does not say the setting it applies to")
        return
    rule_setting = kb.settings[setting]
    for item in evidence:
        errors, warnings = setting_mismatch(rule_setting, kb.settings[item.setting])
        told = (
            f"{where}: {rule_id} ({rule_setting.label}) rests on {item.reference!r} ({kb.settings[item.setting].label})"
        )
        report.errors.extend(f"{told}: {e}" for e in errors)
        report.warnings.extend(f"{told}: {w}" for w in warnings)


def _check_settings(kb: KnowledgeBase, report: LintReport) -> None:
    """Every rule rests on evidence from its own setting (see ``setting_mismatch``)."""
    for name in ("risk_groups.yaml", "cog_risk_groups.yaml", "relapse.yaml"):
        model = kb.files[name]
        scheme = model.scheme  # type: ignore[attr-defined]
        assert isinstance(scheme, s.SchemeSpec)
        for rule in [*scheme.rules, *scheme.notes]:
            _judge(kb, name, rule.id, rule.setting or scheme.setting, rule.evidence, report)
        if isinstance(model, s.RelapseFile):
            for timing in model.timing.rules:
                _judge(kb, name, timing.id, timing.setting or model.timing.setting, timing.evidence, report)
    for element in kb.plan:
        _judge(kb, "plan.yaml", element.spec.id, element.spec.setting, element.spec.evidence, report)
    for guard in kb.plan_guards:
        _judge(kb, "plan.yaml", guard.spec.id, guard.spec.setting, guard.spec.evidence, report)
    for population in kb.populations:
        spec = population.spec
        _judge(kb, "populations.yaml", spec.id, spec.setting, spec.evidence, report)
    for note in kb.counseling:
        _judge(kb, "counseling.yaml", note.spec.id, note.spec.setting, note.spec.evidence, report)
    for state, _ in kb.disease_states:
        _judge(kb, "disease_state.yaml", state.id, state.setting, state.evidence, report)
    for regimen in kb.therapy.regimens.regimens:
        evidence = list(regimen.evidence) + [e for phase in regimen.phases for e in phase.evidence]
        _judge(kb, "regimens.yaml", regimen.id, regimen.setting, evidence, report)


_GAP_WORDS = {
    "missing": "has no translation",
    "stale": "has a translation of an older English text",
    "unknown": "is translated, but the knowledge base has no such text",
    "placeholders": "is translated with other {...} fields than the English text",
}


def _check_translations(kb: KnowledgeBase, report: LintReport) -> None:
    """Every translatable text has a current translation in each language (issue 14): an error, except under
    the file's ``pending`` prefixes (the ratchet of texts still to translate), where it is a warning."""
    for locale, found in sorted(kb.translation_gaps.items()):
        for gap in found:
            message = f"translations/{locale}.yaml: {gap.path} {_GAP_WORDS[gap.kind]}"
            (report.warnings if gap.pending else report.errors).append(message)


def _verify_documents(kb: KnowledgeBase, directory: Path, report: LintReport) -> None:
    for source in kb.sources.values():
        if not source.file:
            continue
        path = directory / source.file
        if not path.exists():
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if source.sha256 and digest != source.sha256:
            report.errors.append(f"{source.id}: {path} has sha256 {digest}, registry says {source.sha256}")
            continue
        report.documents_verified.append(source.id)
        text = data.decode("utf-8")
        if source.id == "pdq":
            headings = heading_lines(text)
            for section in source.sections:
                if section not in headings:
                    report.errors.append(f"{source.id}: section {section!r} is not a heading line of {path.name}")
        else:
            for section in source.sections:
                if not any(line.lstrip("#").strip() == section for line in text.splitlines() if line.startswith("#")):
                    report.errors.append(f"{source.id}: section {section!r} is not a heading of {path.name}")
