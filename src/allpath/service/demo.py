"""Demo accounts and the bundled example patients, for a first look at the web app.

Idempotent: running it again on the same database changes nothing. The passwords are printed by
``allpath serve --demo``; they are for a local demo only (they meet the password policy, but are public).
The clinician is the first of an empty team, so holds its data at once, and confirms the researcher.
An empty trial registry gets the bundled snapshot of 20 childhood-ALL studies (``demo_trials/README.md``), so
the example patients' pages show trials to ask about.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from allpath.knowledge.loader import KnowledgeBase
from allpath.service.patients import create_patient
from allpath.service.trials import Study, import_studies
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import invitations, trials, users
from allpath.storage import tables as t

DEMO_TEAM = "Demo oncology team"
DEMO_ACCOUNTS = (
    ("clinician", "dr.rivera", "Dr. Ana Rivera", "demo-clinician-1"),
    ("researcher", "researcher", "Registry Researcher", "demo-researcher-1"),
    ("admin", "admin", "Site Administrator", "demo-admin-0001"),
)
DEMO_FAMILY = ("family", "family.demo", "A demo family", "demo-family-001")
DEMO_TRIALS = Path(__file__).resolve().parent / "demo_trials" / "studies.json"
DEMO_TRIALS_DETAIL = "the demo's bundled snapshot of childhood-ALL studies, compiled 2026-12-01 (demo data)"


def seed_demo(factory: sessionmaker[Session], kb: KnowledgeBase, examples: Path) -> list[tuple[str, str, str]]:
    """Create the demo team, accounts and example patients; returns (role, username, password) rows."""
    with factory() as s, s.begin():
        if users.get_user(s, "dr.rivera") is None:
            team = users.ensure_team(s, DEMO_TEAM)
            for role, username, name, password in DEMO_ACCOUNTS:
                users.create_user(s, username, password, role, name, team.id if role == "clinician" else None)
            clinician = users.get_user(s, "dr.rivera")
            researcher = users.get_user(s, "researcher")
            assert clinician is not None and researcher is not None
            # The first clinician of the (empty) demo team holds its data and shares it with the researcher.
            users.grant_access(s, researcher, team.id, clinician, "colleague")
            first: t.Patient | None = None
            for path in sorted(examples.glob("*.json")):
                if path.name == "all.json":
                    continue
                record = json.loads(path.read_text(encoding="utf-8"))
                name = "Example " + path.stem.replace("_", " ")
                stored = create_patient(UnitOfWork(s, clinician), kb, name, record, detail="demo seed")
                first = first or stored.patient
            if first is not None:
                code = invitations.create_invitation(s, clinician, first)
                role, username, name, password = DEMO_FAMILY
                invitations.accept_invitation(s, code, username, password, name)
        seed_demo_trials(UnitOfWork(s, None))
    rows = [(role, username, password) for role, username, _, password in DEMO_ACCOUNTS]
    rows.append((DEMO_FAMILY[0], DEMO_FAMILY[1], DEMO_FAMILY[3]))
    return rows


def seed_demo_trials(uow: UnitOfWork, snapshot: Path = DEMO_TRIALS) -> int:
    """Import the bundled studies into the trial registry when it holds none; returns how many were stored.

    Only an empty registry is filled: an operator's registry (synced or imported) is never mixed with demo
    data, and seeding again changes nothing (the import itself would leave the studies unchanged, but would
    count as a refresh and move the registry's date)."""
    if trials.study_count(uow.session) > 0:
        return 0
    page = json.loads(snapshot.read_text(encoding="utf-8"))
    studies = [Study(f"demo study {number}", value) for number, value in enumerate(page["studies"], start=1)]
    summary = import_studies(uow, studies, detail=DEMO_TRIALS_DETAIL)
    return len(summary.added)
