"""The text report of ``allpath cohort diff`` for a clinical reviewer, in the language of ``--lang``.

It only formats the use case's result (``service.cohort.diff.CohortDiff``): the cross-tables (old x new) of every
group column, the populations, then the moved records grouped by their change. Its own words come from the
catalogs (``use_locale``, set by the command); the knowledge texts (population labels, fact labels) are the
knowledge base's, loaded in that language by the command. Numbers are written in the language's way (Spanish
``49.999,5``, every digit kept: ``i18n.local_number``), the inputs' units and values (yes, no, not recorded) in
its words. Rule ids, citations, knowledge versions and the codes without a catalog entry (the groups', a genetic
change's) stay as they are: they are what a reviewer looks up in the knowledge files.
"""

from __future__ import annotations

from allpath.domain import limits
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, local_number, marked, ngettext
from allpath.interfaces.i18n.derived_facts import follows_from
from allpath.interfaces.i18n.groups import WORDS, group_words
from allpath.interfaces.i18n.labels import local_field_label
from allpath.service.cohort.diff import (
    CohortDiff,
    CrossTable,
    Move,
    MovedRecord,
    PopulationCount,
    group_word,
)
from allpath.service.cohort.diff_factors import OPERATOR_WORDS, DecidingRule, RuleChange, ThresholdChange

# The group columns as the reviewer reads them (the use case's labels, marked here for the catalog).
_COLUMN_LABELS = {
    "disease_state": marked("disease state"),
    "risk_group": marked("NCI risk group"),
    "cog_risk_group": marked("COG risk group"),
    "relapse_timing": marked("relapse timing"),
    "relapse_risk_group": marked("relapse risk group"),
    "risk_group_provisional": marked("NCI risk group provisional"),
    "cog_risk_group_provisional": marked("COG risk group provisional"),
}
# The comparison words of a threshold ("at least 50,000 per microliter"), as the use case writes them.
_OPERATORS = (marked("at least"), marked("at most"), marked("below"), marked("above"))
# The inputs' units (inputs.yaml ``unit``; "%" is said the same) and the words of a value that is a code; a test
# keeps the units in step with the knowledge base.
UNITS = (marked("years"), marked("months"), marked("per microliter"))
_VALUE_WORDS = frozenset({marked("female"), marked("male")})
# The facts the engine derives, named as the use case names them (the id in words; a test keeps them in step with
# the knowledge base), and those whose value is a group's code.
DERIVED = {
    "age_at_latest_event_years": marked("age at latest event years"),
    "disease_state": marked("disease state"),
    "plan_therapies": marked("plan therapies"),
    "populations": marked("populations"),
    "relapse_number": marked("relapse number"),
    "risk_group": marked("risk group"),
    "risk_group_at_diagnosis": marked("risk group at diagnosis"),
    "weight_kg": marked("weight kg"),
}
_GROUP_FACTS = frozenset({"disease_state", "risk_group", "risk_group_at_diagnosis"})
_BUNDLED = marked("bundled")
_CORNER = marked("old \\ new")


def _number(value: float) -> str:
    """A number as the reader writes it: English ``49,999.5`` (``limits.number``), Spanish ``49.999,5``."""
    written = limits.number(value)
    return written if current_locale() == DEFAULT_LOCALE else local_number(written.replace(",", ""))


def _unit(unit: str | None) -> str:
    return f" {gettext(unit)}" if unit else ""


def _value(value: object, unit: str | None) -> str:
    """A fact's value as the reader reads it, with its unit; codes (a genetic change, CNS2) as they are."""
    if value is None:
        return gettext("not recorded")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int | float):
        return _number(value) + _unit(unit)
    if isinstance(value, frozenset | list | tuple):
        return ", ".join(sorted(str(item) for item in value)) or gettext("none")
    word = str(value).replace("_", " ")
    return gettext(word) if word in _VALUE_WORDS else word


def _limit(operator: str, threshold: float, unit: str | None) -> str:
    return f"{gettext(OPERATOR_WORDS[operator])} {_number(threshold)}{_unit(unit)}"


def _reading(change: ThresholdChange) -> str:
    return f"{change.fact_label} {_value(change.reading, change.unit)}"


def _input(fact: str, label: str, value: object, unit: str | None) -> str:
    """A value a deciding rule read: an input by its knowledge base's name, a derived fact by the catalog's."""
    if fact not in DERIVED:
        return f"{label} {_value(value, unit)}"
    shown = group_words(value) if fact in _GROUP_FACTS and isinstance(value, str) else _value(value, unit)
    return f"{gettext(DERIVED[fact])} {shown}"


def _derived(words: str) -> str:
    """A derived fact as the use case names it ("risk group"), in the reader's words."""
    return gettext(words) if words.replace(" ", "_") in DERIVED else words


def _group(value: str | bool | None) -> str:
    """A group as a reviewer reads it: the catalog's word when it has one ('none', 'yes', 'high'), else its code."""
    word = group_word(value)
    return group_words(word) if word in WORDS else gettext(word)


def _table_lines(table: CrossTable) -> list[str]:
    before = sorted({_group(cell.before) for cell in table.cells})
    after = sorted({_group(cell.after) for cell in table.cells})
    counts = {(_group(cell.before), _group(cell.after)): cell.count for cell in table.cells}
    corner = gettext(_CORNER)
    first = max([len(corner), *(len(b) for b in before)])
    widths = [max(len(a), *(len(_number(counts.get((b, a), 0))) for b in before)) for a in after]
    label = gettext(_COLUMN_LABELS.get(table.column, table.label))
    if table.cells:
        title = ngettext("{label} ({count} moved)", "{label} ({count} moved)", table.moved)
        lines = [title.format(label=label, count=_number(table.moved))]
    else:
        lines = [gettext("{label} (no records)").format(label=label)]
    lines.append("  " + corner.ljust(first) + "".join(f"  {a:>{w}}" for a, w in zip(after, widths, strict=True)))
    for b in before:
        row = "".join(f"  {_number(counts.get((b, a), 0)):>{w}}" for a, w in zip(after, widths, strict=True))
        lines.append("  " + b.ljust(first) + row)
    return lines


def _population_lines(populations: tuple[PopulationCount, ...]) -> list[str]:
    moved = sum(p.entered + p.left for p in populations)
    header = (gettext("population"), gettext("old"), gettext("new"), gettext("entered"), gettext("left"))
    rows = [(p.label, *(_number(n) for n in (p.before, p.after, p.entered, p.left))) for p in populations]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [gettext("Populations ({count} entered or left)").format(count=_number(moved))]
    for row in (header, *rows):
        cells = "".join(f"  {c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))
        lines.append("  " + row[0].ljust(widths[0]) + cells)
    return lines


def _verdict(only_in: str | None, absent_in: str, held: bool | None) -> str:
    if only_in == absent_in:
        return gettext("absent")
    return {True: gettext("holds"), False: gettext("does not hold"), None: gettext("unknown")}[held]


def _rule_lines(rule: RuleChange) -> list[str]:
    held, holds = _verdict(rule.only_in, "new", rule.held_before), _verdict(rule.only_in, "old", rule.holds_after)
    lines = [
        gettext("rule {rule} ({citation}): {held} before, {holds} now").format(
            rule=rule.rule_id, citation=rule.citation, held=held, holds=holds
        )
    ]
    for t in rule.thresholds:
        lines.append(
            "  "
            + gettext("threshold on the {fact}: {before} before, {after} now").format(
                fact=t.fact_label,
                before=_limit(t.before_operator, t.before_threshold, t.unit),
                after=_limit(t.after_operator, t.after_threshold, t.unit),
            )
        )
    if rule.follows_from:
        lines.append("  " + follows_from(rule.follows_from))
    if not rule.thresholds and not rule.follows_from and rule.only_in is None:
        lines.append("  " + gettext("its condition differs between the versions"))
    return lines


def _deciding(rules: tuple[DecidingRule, ...]) -> str:
    if not rules:
        return gettext("no rule (no group)")
    shown = []
    for r in rules:
        read = ", ".join(_input(*reading) for reading in r.readings) or gettext("no inputs")
        confidence = gettext("{confidence} confidence").format(confidence=gettext(r.confidence))
        shown.append(f"{r.rule_id} ({confidence}; {read})")
    return "; ".join(shown)


def _reasons(move: Move) -> list[str]:
    """Why a move without a changed rule happened: what a provisional group waited for, or no rule at all."""
    if move.rules:
        return []
    if move.column.endswith("_provisional"):
        waits = ", ".join(local_field_label(path) for path in move.missing_before) or gettext("nothing")
        now = ", ".join(local_field_label(path) for path in move.missing_after) or gettext("nothing")
        return [gettext("the group waited for {before} before, for {now} now").format(before=waits, now=now)]
    return [gettext("no rule's verdict differs (see the deciding rules)")]


def _record_lines(record: MovedRecord) -> list[str]:
    row = gettext("Row {row}").format(row=_number(record.row))
    lines = [f"  {row}" + (f" ({record.id})" if record.id else "")]
    for move in record.moves:
        values = sorted({_reading(t) for rule in move.rules for t in rule.thresholds})
        lines.append(f"    {_moved(move)}" + (f"; {', '.join(values)}" if values else ""))
        if move.population is not None:
            continue  # the population's rule is the change's cause, shown above the records
        if move.rules:
            lines.append("      " + gettext("decided by {rules} before").format(rules=_deciding(move.deciding_before)))
            lines.append("      " + gettext("decided by {rules} now").format(rules=_deciding(move.deciding_after)))
        lines.extend(f"      {reason}" for reason in _reasons(move))
    return lines


def _moved(move: Move) -> str:
    if move.population is not None:
        moved = gettext("enters the population {label}") if move.after else gettext("leaves the population {label}")
        return moved.format(label=move.label)
    label = gettext(_COLUMN_LABELS.get(move.column, move.label))
    return f"{label}: {_group(move.before)} -> {_group(move.after)}"


def _cause_lines(move: Move) -> list[str]:
    lines = [f"  {_moved(move)}"]
    for rule in move.rules:
        lines.extend("    " + line for line in _rule_lines(rule))
    return lines


def _side(folder: str) -> str:
    """A knowledge folder as the command names it; the bundled knowledge base in the reader's words."""
    return gettext(_BUNDLED) if folder == _BUNDLED else folder


def render_text(result: CohortDiff, sides: tuple[str, str], refused: int) -> str:
    """The report a reviewer reads: versions, cross-tables, populations, then the moved records grouped by change."""
    impact = ngettext(
        "Knowledge change impact on {records} records ({refused} row refused by the reader; allpath cohort assess "
        "lists their problems)",
        "Knowledge change impact on {records} records ({refused} rows refused by the reader; allpath cohort "
        "assess lists their problems)",
        refused,
    )
    lines = [
        impact.format(records=_number(result.records), refused=_number(refused)),
        gettext("Old knowledge: {version} ({folder})").format(version=result.old_version, folder=_side(sides[0])),
        gettext("New knowledge: {version} ({folder})").format(version=result.new_version, folder=_side(sides[1])),
        "",
    ]
    for table in result.tables:
        lines += [*_table_lines(table), ""]
    if result.populations:
        lines += [*_population_lines(result.populations), ""]
    groups = result.groups()
    lines.append(
        gettext("Moved records: {records}, in {changes} change(s)").format(
            records=_number(len(result.moved)), changes=_number(len(groups))
        )
    )
    for number, group in enumerate(groups, start=1):
        lines += [
            "",
            gettext("Change {number} ({count} record(s)):").format(number=number, count=_number(len(group.records))),
        ]
        for move in group.records[0].moves:
            lines.extend(_cause_lines(move))
        lines.append("  " + gettext("Records:"))
        for record in group.records:
            lines.extend("  " + line for line in _record_lines(record))
    return "\n".join(lines) + "\n"
