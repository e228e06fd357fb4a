"""CTDC case records (``../shared/data/ctdc/``) turned into Haven events.

Each CSV row is one identified person (k-anonymized, no direct identifiers).
Personal fields that the records do not have (names, dates of birth,
contacts) are generated from a seeded random source, so every run with the
same seed produces the same events.  The file is read where it lies; it is
never copied into the repository.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

CTDC_FILE = "ctdc_trafficking_cleaned.csv"

_EXPLOITATION = {
    "Sexual Exploitation": "sexual",
    "Forced Labor": "forced_labour",
    "Forced Marriage": "forced_marriage",
    "Other": "other",
}
_LABOUR_EXTRA = {"Domestic Work": "domestic_servitude", "Begging": "forced_begging"}
_LANGUAGES = {
    "US": "en",
    "UA": "uk",
    "BY": "be",
    "MM": "my",
    "KG": "ky",
    "KH": "km",
    "NG": "en",
    "HT": "ht",
    "LK": "si",
    "ID": "id",
    "UG": "en",
    "PH": "tl",
    "VN": "vi",
    "RO": "ro",
}
_GIVEN = [
    "Alina",
    "Oksana",
    "Mira",
    "Nadia",
    "Thida",
    "Aigul",
    "Chioma",
    "Rose",
    "Ayesha",
    "Lena",
    "Daria",
    "Sokha",
    "Ivan",
    "Musa",
    "Kofi",
    "Tariq",
    "Marco",
    "Yusuf",
    "Pavel",
    "Arman",
]
_FAMILY = [
    "Kovalenko",
    "Hnatiuk",
    "Soe",
    "Abenova",
    "Okafor",
    "Jean-Baptiste",
    "Perera",
    "Santoso",
    "Nakato",
    "Petrova",
    "Chan",
    "Mendoza",
    "Popescu",
    "Nguyen",
    "Ionescu",
]


class CtdcDataMissing(FileNotFoundError):
    """The CTDC file is not where it should be."""


@dataclass(frozen=True)
class CtdcCase:
    """One CTDC record, in Haven's vocabulary."""

    year: int
    gender: str
    nationality: tuple[str, ...]
    exploitation_types: tuple[str, ...]
    indicators: tuple[str, ...]
    is_minor: bool
    age_band: str
    languages: tuple[str, ...]


def default_ctdc_path() -> Path:
    """``HAVEN_CTDC_PATH``, else ``../shared/data/ctdc/`` beside the repository."""
    configured = os.environ.get("HAVEN_CTDC_PATH")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "ctdc" / CTDC_FILE


def _case(row: dict[str, str]) -> CtdcCase:
    citizenship = row["citizenship"].strip().upper()
    exploitation = [_EXPLOITATION.get(row["ExploitType"], "other")]
    if row["Labor_Type"] in _LABOUR_EXTRA:
        exploitation.append(_LABOUR_EXTRA[row["Labor_Type"]])
    indicators = [f"control:{row['ControlCategory'].lower()}"]
    if row["RecruiterCategory"] not in ("Not Specified", "Other"):
        indicators.append(f"recruiter:{row['RecruiterCategory'].lower().replace('/', '_')}")
    age_band = row["ageCategories"].removeprefix("Age ").strip()
    nationality = () if citizenship in ("0", "") else (citizenship,)
    return CtdcCase(
        year=int(row["yearOfRegistration"]),
        gender=row["gender"].lower(),
        nationality=nationality,
        exploitation_types=tuple(exploitation),
        indicators=tuple(indicators),
        is_minor=age_band in ("0-8", "9-17"),
        age_band=age_band,
        languages=(_LANGUAGES.get(citizenship, "en"),),
    )


def load_cases(path: Path | None = None, limit: int | None = None) -> list[CtdcCase]:
    """Read CTDC records (all of them, or the first ``limit``)."""
    source = path or default_ctdc_path()
    if not source.exists():
        raise CtdcDataMissing(f"CTDC records not found at {source}; set HAVEN_CTDC_PATH")
    with source.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        cases = []
        for row in rows:
            cases.append(_case(row))
            if limit is not None and len(cases) >= limit:
                break
    return cases


def fake_person(rng: random.Random, case: CtdcCase) -> dict[str, str]:
    """Generated personal fields for a case (synthetic, seeded)."""
    lower, _, upper = case.age_band.partition("-")
    age = rng.randint(int(lower.rstrip("+")), int(upper or 60))
    born = datetime(case.year - age, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 364))
    return {
        "full_name": f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}",
        "date_of_birth": born.date().isoformat(),
        "contact": f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
    }


def identified_at(rng: random.Random, case: CtdcCase) -> datetime:
    """A time within the record's year of registration."""
    start = datetime(case.year, 1, 1, tzinfo=UTC)
    return start + timedelta(minutes=rng.randint(0, 365 * 24 * 60 - 1))
