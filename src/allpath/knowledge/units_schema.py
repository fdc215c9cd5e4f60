"""Schema of ``units.yaml``: the unit each quantity of the record is kept in, the spellings of units that EHRs
send which are not UCUM codes (each with the UCUM code it means and where it is seen), and the words of the
FHIR Quantity comparators.

The conversion itself is done by a UCUM library in the FHIR importer (``interfaces/fhir/units.py``); this file
holds no conversion factors, only which unit a spelling names. Unknown keys are errors; a spelling is listed
once per kind of measure.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN

Kind = Literal["cell_count", "mass", "length", "time", "absorbed_dose", "mass_per_area", "percent"]
"""What a quantity measures. A spelling that names different units for different kinds (``G/L``: giga per
liter for a cell count, gram per liter otherwise) is read by the kind of the quantity it is given for."""


class RecordQuantity(BaseModel):
    """A quantity of the record: the UCUM unit its field is kept in and the decimals a converted value keeps."""

    model_config = FROZEN
    ucum: str = Field(min_length=1)
    kind: Kind
    # A value converted from another unit is rounded to this many decimals (a value already in ``ucum`` is kept
    # as given): the conversion adds nothing a laboratory measured.
    decimals: int = Field(ge=0, le=6)
    name: str = Field(min_length=1)  # what the import report calls it: "white count"
    unit_words: str = Field(min_length=1)  # its unit in words: "per microliter"
    # True: only the unit itself is read (a percentage is not converted from a fraction or a count).
    exact: bool = False


class Alias(BaseModel):
    """A spelling that is not a UCUM code, the UCUM code it means, and where such a spelling is seen."""

    model_config = FROZEN
    spelling: str = Field(min_length=1)
    ucum: str = Field(min_length=1)
    seen: str = Field(min_length=1)
    # Only for quantities of this kind (the spelling means another unit, or nothing, for the others).
    kind: Kind | None = None


class UnitsFile(BaseModel):
    model_config = FROZEN
    quantities: dict[str, RecordQuantity] = Field(min_length=1)
    aliases: list[Alias] = Field(min_length=1)
    # Quantity.comparator code -> how the import report says it ("more than"); "ad" is R5's "sufficient to
    # achieve this total quantity", which R4 servers also send.
    comparators: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_meaning_per_spelling(self) -> UnitsFile:
        seen: set[tuple[str, str | None]] = set()
        for alias in self.aliases:
            key = (alias_key(alias.spelling), alias.kind)
            if key in seen:
                raise ValueError(f"the spelling {alias.spelling!r} is listed twice for the same kind of quantity")
            seen.add(key)
        return self


def alias_key(spelling: str) -> str:
    """How a spelling is looked up among the aliases: lower case, without spaces, micro signs as ``u``."""
    key = "".join(spelling.split()).lower()
    return key.replace("\u00b5", "u").replace("\u03bc", "u")
