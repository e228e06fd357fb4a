"""Seeded synthetic cases shaped like the CTDC records, for a clone without the file.

The demo and the tests use the real CTDC records when the file is there
(:func:`services.scenarios.ctdc.load_cases`); without it, these cases stand
in: the same fields, drawn from a seeded random source with roughly the
records' proportions, so every run with one seed is the same.  The first
case is the demo's survivor profile (a Ukrainian woman of 24-26 in forced
labour).
"""

from __future__ import annotations

import random
from pathlib import Path

from services.scenarios.ctdc import CtdcCase, CtdcDataMissing, default_ctdc_path, load_cases

_NATIONALITIES = (("US", 36), ("UA", 10), ("BY", 3), ("MM", 2), ("KG", 2), ("KH", 2), ("NG", 1))
_AGES = (("9-17", 35), ("18-20", 14), ("21-23", 11), ("24-26", 9), ("27-29", 6), ("30-38", 15))
_EXPLOITATION = ((("sexual",), 80), (("forced_labour",), 15), (("forced_marriage",), 2))
_CONTROL = (("other", 40), ("threats", 27), ("financial", 19), ("physical", 11), ("survival", 3))
_LANGUAGES = {"US": "en", "UA": "uk", "BY": "be", "MM": "my", "KG": "ky", "KH": "km", "NG": "en"}
SURVIVOR = CtdcCase(
    year=2018,
    gender="female",
    nationality=("UA",),
    exploitation_types=("forced_labour",),
    indicators=("control:threats",),
    is_minor=False,
    age_band="24-26",
    languages=("uk",),
)


def _pick(rng: random.Random, weighted: tuple[tuple[object, int], ...]) -> object:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def synthetic_cases(count: int, seed: int = 16) -> list[CtdcCase]:
    """``count`` generated cases (at least the survivor's), the same for the same seed."""
    rng = random.Random(seed)
    cases = [SURVIVOR]
    while len(cases) < count:
        nationality = str(_pick(rng, _NATIONALITIES))
        age_band = str(_pick(rng, _AGES))
        exploitation = _pick(rng, _EXPLOITATION)
        assert isinstance(exploitation, tuple)
        cases.append(
            CtdcCase(
                year=rng.randint(2012, 2018),
                gender="male" if rng.random() < 0.13 else "female",
                nationality=(nationality,),
                exploitation_types=exploitation,
                indicators=(f"control:{_pick(rng, _CONTROL)}",),
                is_minor=age_band == "9-17",
                age_band=age_band,
                languages=(_LANGUAGES[nationality],),
            )
        )
    return cases


def cases_or_synthetic(count: int, path: Path | None = None) -> tuple[list[CtdcCase], str]:
    """The CTDC records if the file is there, else ``count`` synthetic cases; and which."""
    source = path or default_ctdc_path()
    try:
        return load_cases(source), "CTDC records"
    except CtdcDataMissing:
        return synthetic_cases(count), f"generated cases (no CTDC file at {source})"


def first_cases(limit: int, path: Path | None = None) -> list[CtdcCase]:
    """The first ``limit`` CTDC records if the file is there, else ``limit`` synthetic cases."""
    try:
        return load_cases(path or default_ctdc_path(), limit=limit)
    except CtdcDataMissing:
        return synthetic_cases(limit)
