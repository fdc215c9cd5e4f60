"""CDS Hooks 2.0 service (cds-hooks.hl7.org/2.0): allpath's risk group, missing tests and treatment phase at
``patient-view``, and dose checks of vincristine and thiopurine orders at ``order-select`` and ``order-sign``.

``cds_router(settings)`` is the FastAPI router (``/cds-services``) and ``CdsCors`` its CORS middleware, both
mounted by the composition root (``allpath.interfaces.app``); ``configuration_warnings(settings)`` is what
``allpath serve`` prints at start. See README, "CDS Hooks". Dependencies point one way: this package reads
domain, knowledge, the application layer (``allpath.service``: the assessment of patient-view, the dose
checks of the orders), the HTTP kernel and the FHIR importer, never the engine or storage (``.importlinter``);
nothing imports it but the composition root and ``allpath.interfaces.serving``.
"""

from __future__ import annotations

from allpath.interfaces.cds.config import configuration_warnings, cors_origins
from allpath.interfaces.cds.cors import CdsCors
from allpath.interfaces.cds.routes import cds_router

__all__ = ["CdsCors", "cds_router", "configuration_warnings", "cors_origins"]
