"""Who takes part in the demo: agencies in Greece, Italy and Germany, and synthetic people.

Every name, address and phone number here is invented for the demo.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Agency:
    """A registered agency of the demo."""

    id: str
    type: str
    country: str
    name: str


AGENCIES = [
    Agency("gr_ngo", "ngo", "GR", "Athens anti-trafficking NGO"),
    Agency("gr_nrm", "coordinator", "GR", "Greek National Referral Mechanism"),
    Agency("gr_police", "police", "GR", "Hellenic Police, anti-trafficking unit"),
    Agency("gr_immigration", "immigration", "GR", "Greek Migration Service"),
    Agency("gr_child", "child_protection", "GR", "Athens child protection service"),
    Agency("gr_dpa", "auditor", "GR", "Hellenic Data Protection Authority"),
    Agency("it_nrm", "coordinator", "IT", "Italian anti-trafficking referral desk"),
    Agency("it_shelter", "shelter", "IT", "Bari emergency shelter"),
    Agency("it_police", "police", "IT", "Polizia di Stato, Bari"),
    Agency("it_court", "court", "IT", "Tribunale di Bari"),
    Agency("de_legal_aid", "legal_aid", "DE", "Berlin survivors' legal aid"),
    Agency("de_police", "police", "DE", "Bundeskriminalamt, trafficking desk"),
    Agency("de_labour", "labour_inspectorate", "DE", "Customs labour inspection (FKS)"),
]
BY_ID = {agency.id: agency for agency in AGENCIES}

#: The agencies whose views of the survivor are shown after every step.
WATCHERS = [
    "gr_ngo",
    "gr_nrm",
    "gr_police",
    "gr_immigration",
    "it_shelter",
    "it_nrm",
    "it_police",
    "it_court",
    "de_legal_aid",
    "de_police",
]

#: The survivor agrees to share with these agencies (the NGO itself included,
#: so that it receives what others record).
CONSENTED = [
    "gr_ngo",
    "gr_nrm",
    "gr_police",
    "gr_immigration",
    "it_nrm",
    "it_shelter",
    "de_legal_aid",
]
PURPOSES = ["care", "protection", "legal_assistance", "residence_status"]

#: Who may see the shelter's address: the shelter itself and coordinators.
LOCATION_READERS = {"it_shelter", "gr_nrm", "it_nrm"}
#: Police, prosecutors and courts of the countries recognising the order.
ORDER_BY_LAW = {"gr_police", "it_police", "it_court"}

SURVIVOR = {
    "full_name": "Mira Demo-Kovalenko",
    "date_of_birth": "2001-03-09",
    "contact": "+30 690 000 0000",
}
#: The date of birth the NGO first typed in by mistake (corrected in step 2).
WRONG_DATE_OF_BIRTH = "2001-09-03"
SHELTER_ADDRESS = "Via Demo 12, Bari"
RESPONDENT = {"name": "Respondent Demo", "description": "recruiter, seen at Bari port"}
CRITICAL_NOTES = "Recruiter threatened her family; move her abroad tonight."
LATER_NOTES = "Follow-up call: she is safe and wants no further sharing."

#: Every plaintext personal value of the story: none may appear in the log or the DLQ.
PERSONAL_VALUES = [
    *SURVIVOR.values(),
    WRONG_DATE_OF_BIRTH,
    SHELTER_ADDRESS,
    RESPONDENT["name"],
    CRITICAL_NOTES,
    LATER_NOTES,
]


def country_of(agency_id: str) -> str:
    """The agency's jurisdiction."""
    return BY_ID[agency_id].country
