"""Why each step of the story turns out as it does (docs/rules.md, in a sentence or two)."""

from __future__ import annotations

WHY = {
    1: "Until she consents, an event reaches only the agency that recorded it (rule 1).",
    2: "A grant names agencies and purposes and shares her record as it stands: each agency"
    " type sees only the fields the policy gives it. A correction reaches everyone who"
    " received the wrong date, through their own field rules, with a notice. An agency"
    " that does not hold her cannot grant itself access.",
    3: "The police may assess her because it now holds her identification. A critical risk"
    " reaches the coordinator of the country even without consent (vital interests);"
    " immigration never receives risk (non-punishment).",
    4: "Shelter addresses are confidential: only the shelter itself and coordinators read"
    " them; the NGO learns of the placement without the address.",
    5: "By law the order reaches police and courts of every recognising country, consent or"
    " not (rule 3); an order alone creates no subject row. The respondent is sealed under"
    " the order's own key.",
    6: "Withdrawing for one agency erases its rows at once; what the law lets it keep (the"
    " order) is rebuilt, and the receipt says why. Its systems get an erasure notice. Her"
    " lawyer then asks who holds what about her (a disclosure, GDPR Art. 15).",
    7: "Every consent-based row goes, for every agency, the producer's own included. With"
    " the erasure hold at 0 her key epoch is destroyed at once, so every sealed copy (log,"
    " archive, read models, DLQ) becomes unreadable; rule-3 rows stay.",
    8: "Events after the erasure are sealed under a new key epoch and reach only their"
    " producer (and rule-3 recipients) until she consents again.",
}


def why(title: str) -> str:
    """The explanation of the step whose title starts with its number."""
    return WHY.get(int(title.split(" · ", 1)[0]), "")
