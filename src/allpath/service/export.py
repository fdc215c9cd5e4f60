"""The researcher's de-identified export: the current records and groups of the patients of the teams that
granted the researcher their data, without names, ids or dates (``allpath.storage.export``).

Audited with the number of rows (``export deidentified``, or ``read deidentified`` for the web page's
summary, which shows counts only); ``detail`` says which form of it was taken.
"""

from __future__ import annotations

from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import export, users
from allpath.storage.export import DeidentifiedRow


def _rows(uow: UnitOfWork) -> list[DeidentifiedRow]:
    if uow.actor is None:
        raise PermissionError("the de-identified export needs a researcher's account")
    return export.deidentified_export(uow.session, users.granted_teams(uow.session, uow.actor.id))


def deidentified_rows(uow: UnitOfWork, *, detail: str = "") -> list[DeidentifiedRow]:
    """The export's rows, one per patient (audited as ``export deidentified``: ``N rows`` and ``detail``)."""
    rows = _rows(uow)
    uow.audit("export", "deidentified", detail=f"{len(rows)} rows" + (f" ({detail})" if detail else ""))
    return rows


def deidentified_summary(uow: UnitOfWork, *, detail: str = "") -> list[DeidentifiedRow]:
    """The same rows for a summary that shows counts only (audited as ``read deidentified``)."""
    rows = _rows(uow)
    uow.audit("read", "deidentified", detail=f"summary of {len(rows)} rows" + (f" ({detail})" if detail else ""))
    return rows
