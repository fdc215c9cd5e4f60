"""The vocabularies of the patient record: genetic findings, predisposition syndromes, relapse sites,
pharmacogenomic phenotypes, recordable drugs, routes and radiation sites.

The domain imports nothing of the knowledge base, so these ``Literal`` types are written here; a test
(``tests/knowledge/test_vocabularies.py``) fails when one differs from the knowledge data (``genetics.yaml``,
``counseling.yaml``, ``drugs.yaml``, ``fhir_codes.yaml`` ...).
"""

from __future__ import annotations

from typing import Literal, get_args

GeneticToken = Literal[
    "ETV6::RUNX1",
    "high_hyperdiploidy",
    "trisomy_4_10",
    "BCR::ABL1",
    "KMT2A_rearranged",
    "hypodiploidy_lt44",
    "iAMP21",
    "ph_like",
    "TCF3::PBX1",
    "TCF3::HLF",
    "none_detected",
]
PredispositionToken = Literal[
    "neurofibromatosis_1", "bloom", "fanconi_anemia", "ataxia_telangiectasia", "li_fraumeni", "cmmrd"
]
RelapseSite = Literal["bone_marrow", "cns", "testis", "other"]
# CPIC phenotypes of TPMT and NUDT15 (clinical-facts.md section 9); "indeterminate" since April 2020.
Phenotype = Literal["normal", "intermediate", "possible_intermediate", "poor", "indeterminate"]
# Drugs whose administered courses can be recorded (lower-case generic names, as in plan.drugs).
ExposureDrug = Literal[
    "vincristine",
    "dexamethasone",
    "prednisone",
    "pegaspargase",
    "daunorubicin",
    "doxorubicin",
    "idarubicin",
    "epirubicin",
    "mitoxantrone",
    "cyclophosphamide",
    "cytarabine",
    "methotrexate",
    "mercaptopurine",
    "thioguanine",
]
Route = Literal["intravenous", "oral", "intrathecal", "intramuscular", "subcutaneous"]
RadiationSite = Literal["cranial", "craniospinal", "chest", "testicular", "total_body"]

GENETIC_TOKENS: tuple[str, ...] = get_args(GeneticToken)
PHENOTYPES: tuple[str, ...] = get_args(Phenotype)
EXPOSURE_DRUGS: tuple[str, ...] = get_args(ExposureDrug)
ROUTES: tuple[str, ...] = get_args(Route)
RADIATION_SITES: tuple[str, ...] = get_args(RadiationSite)
PREDISPOSITION_TOKENS: tuple[str, ...] = get_args(PredispositionToken)
RELAPSE_SITES: tuple[str, ...] = get_args(RelapseSite)
