"""The default data-sharing policy, its JSON Schema and the loader's located errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
import yaml
from jsonschema import Draft202012Validator

from projectors.policy.loader import (
    PolicyError,
    PolicyIssue,
    default_policy_path,
    load_policy,
    load_policy_text,
)
from projectors.policy.model import Policy
from projectors.policy.schema import policy_schema_path
from projectors.policy.vocabulary import (
    DOMAIN_FIELDS,
    AgencyType,
    Condition,
    LawfulBasisKind,
    Purpose,
)

ID, RISK, PLACE, ORDER = "identification", "risk", "placement", "protective_order"
ALL = {family: DOMAIN_FIELDS[family] for family in (ID, RISK, PLACE, ORDER)}
PERSONAL = {ID: {"personal"}, RISK: {"notes"}, PLACE: {"location"}, ORDER: {"respondent"}}


def plain(family: str) -> frozenset[str]:
    return ALL[family] - PERSONAL[family]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_path())


def visible(
    policy: Policy, agency_type: AgencyType, purpose: str | None = None
) -> dict[str, frozenset[str]]:
    """Family -> fields an agency type may see under consent (any purpose, any condition)."""
    spec = policy.agency_types[agency_type]
    seen: dict[str, frozenset[str]] = {}
    for rule in spec.access:
        if purpose is not None and purpose not in spec.purposes_of(rule):
            continue
        personal = frozenset(policy.families[rule.family].personal_fields)
        chosen = rule.select(DOMAIN_FIELDS[rule.family], personal)
        seen[rule.family] = seen.get(rule.family, frozenset()) | chosen
    return seen


# ---------------------------------------------------------------- the default policy


def test_default_policy_loads_with_a_stable_digest(policy: Policy) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", policy.digest)
    assert load_policy(default_policy_path()).digest == policy.digest
    # Comments, order and formatting do not change the digest; content does.
    canonical = json.loads(policy.canonical_json())
    reordered = yaml.safe_dump(canonical, sort_keys=True)
    assert load_policy_text(reordered, "dumped.yaml").digest == policy.digest
    bumped = reordered.replace(policy.policy_version, "2099.1.1")
    assert load_policy_text(bumped, "bumped.yaml").digest != policy.digest


EXPECTED = {
    "coordinator": dict(ALL),
    "police": {ID: ALL[ID], RISK: plain(RISK), ORDER: ALL[ORDER]},
    "prosecutor": {ID: plain(ID), RISK: {"level"}, ORDER: ALL[ORDER]},
    "court": {ID: plain(ID), RISK: {"level"}, ORDER: ALL[ORDER]},
    "shelter": {
        ID: {"languages", "is_minor", "gender", "age_band", "personal"},
        RISK: {"level", "immediate_needs"},
        PLACE: ALL[PLACE],
    },
    "health": {ID: {"languages", "is_minor", "age_band"}, RISK: {"level", "immediate_needs"}},
    "ngo": {ID: plain(ID), RISK: plain(RISK), PLACE: plain(PLACE)},
    "legal_aid": {ID: ALL[ID], RISK: {"level"}, ORDER: ALL[ORDER]},
    "child_protection": {ID: ALL[ID], RISK: ALL[RISK], PLACE: plain(PLACE), ORDER: ALL[ORDER]},
    "immigration": {ID: {"nationality", "is_minor"}},
    "labour_inspectorate": {ID: {"exploitation_types", "nationality"}},
    "auditor": {},
}


@pytest.mark.parametrize("agency_type", sorted(EXPECTED))
def test_every_row_of_the_domain_table_is_encoded(policy: Policy, agency_type: str) -> None:
    assert visible(policy, agency_type) == EXPECTED[agency_type]  # type: ignore[arg-type]


def test_purposes_follow_the_domain_table(policy: Policy) -> None:
    purposes = {name: set(spec.purposes) for name, spec in policy.agency_types.items()}
    assert purposes["coordinator"] == {"care", "protection", "legal_assistance", "residence_status"}
    assert purposes["police"] == {"protection", "investigation"}
    assert purposes["prosecutor"] == purposes["court"] == {"prosecution", "protection"}
    assert purposes["immigration"] == {"residence_status"}
    assert purposes["labour_inspectorate"] == {"investigation"}
    assert set(policy.agency_types) == set(get_args(AgencyType))


def test_immigration_sees_nationality_and_minority_only(policy: Policy) -> None:
    assert visible(policy, "immigration") == {ID: {"nationality", "is_minor"}}
    assert all("immigration" not in b.recipients.agency_types for b in policy.lawful_bases)
    (rule,) = [p for p in policy.prohibitions if "immigration" in p.agency_types]
    assert "non-punishment" in rule.reason.lower()


def test_only_the_own_shelter_and_coordinators_see_a_location(policy: Policy) -> None:
    holders = {
        (name, rule.condition)
        for name, spec in policy.agency_types.items()
        for rule in spec.access
        if rule.family == PLACE and rule.personal_fields in ("all", ("location",))
    }
    assert holders == {("coordinator", None), ("shelter", "own_shelter")}
    assert all(b.family != PLACE for b in policy.lawful_bases)
    (confidential,) = policy.confidential_fields
    assert (confidential.family, confidential.field) == (PLACE, "location")
    assert confidential.visible_to.agency_types == ("coordinator",)
    assert confidential.visible_to.conditions == ("own_shelter",)


def test_police_see_personal_identification_only_for_investigation(policy: Policy) -> None:
    assert "personal" in visible(policy, "police", "investigation")[ID]
    assert "personal" not in visible(policy, "police", "protection")[ID]


def test_auditor_has_no_access(policy: Policy) -> None:
    assert policy.agency_types["auditor"].purposes == ()
    assert policy.agency_types["auditor"].access == ()


def test_the_three_default_lawful_bases(policy: Policy) -> None:
    bases = {basis.id: basis for basis in policy.lawful_bases}
    assert set(bases) == {
        "protective_order_recognition",
        "critical_risk_vital_interests",
        "minor_identification",
    }
    orders = bases["protective_order_recognition"]
    assert (orders.basis, orders.family, orders.when) == ("legal_obligation", ORDER, None)
    assert set(orders.recipients.agency_types) == {"police", "prosecutor", "court"}
    assert orders.recipients.jurisdiction_from == "data.recognized_in"
    risk = bases["critical_risk_vital_interests"]
    assert (risk.basis, risk.family, risk.recipients.agency_types) == (
        "vital_interests",
        RISK,
        ("coordinator",),
    )
    assert risk.when is not None
    assert (risk.when.field, risk.when.values) == ("level", ("critical",))
    assert risk.personal_fields == ()  # without personal fields
    assert risk.recipients.jurisdiction_from == "envelope.jurisdiction"
    minor = bases["minor_identification"]
    assert (minor.basis, minor.family, minor.recipients.agency_types) == (
        "legal_obligation",
        ID,
        ("child_protection",),
    )
    assert minor.when is not None
    assert minor.when.values == (True,)


def test_family_of_event_types(policy: Policy) -> None:
    assert policy.family_of("haven.shelter.placement-ended.v1") == PLACE
    assert policy.family_of("haven.protective-order.revoked.v1") == ORDER
    assert policy.family_of("haven.consent.granted.v1") is None


def test_the_field_tables_match_the_committed_event_schemas(policy: Policy) -> None:
    """What the engine will derive from the event registry, read from contracts/schemas."""
    fields: dict[str, set[str]] = {}
    personal: dict[str, set[str]] = {}
    for family, spec in policy.families.items():
        for event_type in spec.event_types:
            path = default_policy_path().parents[1] / "schemas" / f"{event_type}.json"
            schema = json.loads(path.read_text(encoding="utf-8"))
            data = schema["properties"]["data"]
            if "$ref" in data:
                data = schema["$defs"][data["$ref"].removeprefix("#/$defs/")]
            props = data["properties"]
            fields.setdefault(family, set()).update(props)
            marked = {
                name for name, prop in props.items() if "x-haven-personal" in json.dumps(prop)
            }
            personal.setdefault(family, set()).update(marked)
    assert fields == {family: set(names) for family, names in DOMAIN_FIELDS.items()}
    assert personal == PERSONAL
    known = {family: frozenset(names) for family, names in fields.items()}
    loaded = load_policy(
        default_policy_path(),
        known_fields=known,
        known_personal_fields={family: frozenset(names) for family, names in personal.items()},
    )
    assert loaded.digest == policy.digest


# ---------------------------------------------------------------- the JSON Schema


def test_schema_is_valid_deterministic_and_matches_the_vocabulary() -> None:
    text = policy_schema_path().read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert text == json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    defs = schema["$defs"]
    assert tuple(defs["purpose"]["enum"]) == get_args(Purpose)
    assert tuple(defs["agency_type"]["enum"]) == get_args(AgencyType)
    assert tuple(defs["condition"]["enum"]) == get_args(Condition)
    assert tuple(defs["lawful_basis_kind"]["enum"]) == get_args(LawfulBasisKind)
    assert schema["properties"]["agency_types"]["required"] == list(get_args(AgencyType))
    default = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(default)) == []
    canonical = json.loads(load_policy(default_policy_path()).canonical_json())
    assert list(Draft202012Validator(schema).iter_errors(canonical)) == []


# ---------------------------------------------------------------- broken files

OTHER_TYPES = [t for t in get_args(AgencyType) if t not in ("police", "auditor")]


def policy_text(police: str, *, top: str = "", auditor: bool = True) -> str:
    """A small valid policy; ``police`` is the police entry's body (4-space indent)."""
    others = "".join(f"  {name}: {{purposes: [], access: []}}\n" for name in OTHER_TYPES)
    return (
        'policy_version: "t.1"\n'
        f"{top}"
        "families:\n"
        "  identification:\n"
        "    event_types: [haven.victim.identified.v1]\n"
        "    personal_fields: [personal]\n"
        "  placement:\n"
        "    event_types: [haven.shelter.placement-started.v1]\n"
        "    personal_fields: [location]\n"
        "agency_types:\n"
        "  police:\n"
        f"{police}"
        f"{others}" + ("  auditor: {purposes: [], access: []}\n" if auditor else "")
    )


GOOD_POLICE = (
    "    purposes: [protection, investigation]\n"
    "    access:\n"
    "      - {family: identification, fields: [nationality, is_minor]}\n"
)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def issues_of(text: str) -> list[PolicyIssue]:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "broken.yaml")
    return caught.value.issues


def test_the_small_policy_is_valid() -> None:
    assert load_policy_text(policy_text(GOOD_POLICE), "ok.yaml").policy_version == "t.1"


BROKEN = [
    pytest.param(
        policy_text(GOOD_POLICE.replace("investigation]", "investigation}")),
        "investigation}",
        "",
        "YAML syntax error",
        id="yaml-syntax",
    ),
    pytest.param(
        policy_text(GOOD_POLICE, top="colour: blue\n"),
        "colour",
        "colour",
        "unknown key 'colour'; allowed keys: agency_types, confidential_fields",
        id="unknown-top-level-key",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("[protection, investigation]", "protection")),
        "purposes: protection",
        "agency_types.police.purposes",
        "expected a list, got string 'protection'",
        id="wrong-type",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("investigation]", "spying]")),
        "spying",
        "agency_types.police.purposes[1]",
        "unknown purpose 'spying'; expected one of: care, protection",
        id="unknown-purpose",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("[nationality,", "[nationalty,")),
        "nationalty",
        "agency_types.police.access[0].fields[0]",
        "unknown field 'nationalty' of family identification; did you mean 'nationality'?",
        id="unknown-field",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("family: identification", "family: orders")),
        "orders",
        "agency_types.police.access[0].family",
        "unknown family 'orders'; this policy's families: identification, placement",
        id="unknown-family",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("is_minor]}", "is_minor], condition: sunny}")),
        "sunny",
        "agency_types.police.access[0].condition",
        "unknown condition 'sunny'; expected one of: own_shelter, subject_is_minor",
        id="unknown-condition",
    ),
    pytest.param(
        policy_text(GOOD_POLICE + "  police:\n" + GOOD_POLICE),
        "police:",
        "agency_types.police",
        "duplicate key 'police' (first at line 10)",
        id="duplicate-key",
    ),
    pytest.param(
        policy_text(GOOD_POLICE, auditor=False),
        "police:",
        "agency_types",
        "missing entry for agency type 'auditor'",
        id="missing-agency-type",
    ),
    pytest.param(
        policy_text(GOOD_POLICE.replace("is_minor]", "is_minor, personal]")),
        "personal]}",
        "agency_types.police.access[0].fields[2]",
        "'personal' is a personal field of family identification: to share it, list it "
        "under personal_fields",
        id="personal-field-in-fields",
    ),
    pytest.param(
        policy_text(GOOD_POLICE + "      - {family: placement, fields: all, purposes: [care]}\n"),
        "care",
        "agency_types.police.access[1].purposes[0]",
        "purpose 'care' is not one of the purposes of police (investigation, protection)",
        id="purpose-not-of-the-type",
    ),
    pytest.param(
        policy_text(GOOD_POLICE).replace(
            "[haven.victim.identified.v1]", "[haven.consent.granted.v1]"
        ),
        "consent",
        "families.identification.event_types[0]",
        "event type 'haven.consent.granted.v1' cannot be shared: consent events feed",
        id="unshareable-event-type",
    ),
    pytest.param(
        policy_text(GOOD_POLICE, top="lawful_bases:\n  - {}\n"),
        "- {}",
        "lawful_bases[0]",
        "missing required key 'basis'",
        id="missing-key",
    ),
]


@pytest.mark.parametrize(("text", "needle", "path", "message"), BROKEN)
def test_a_broken_file_gives_a_located_error(
    text: str, needle: str, path: str, message: str
) -> None:
    issues = issues_of(text)
    matching = [i for i in issues if i.path == path and message in i.message]
    assert matching, "\n".join(map(str, issues))
    assert matching[0].line == line_of(text, needle, occurrence=text.count(needle))
    assert matching[0].location.startswith("broken.yaml:")


CONFIDENTIAL = (
    "confidential_fields:\n"
    "  - family: placement\n"
    "    field: location\n"
    "    visible_to: {agency_types: [coordinator], conditions: [own_shelter]}\n"
    "    reason: shelters are secret\n"
    "prohibitions:\n"
    "  - id: no_police_minors\n"
    "    agency_types: [police]\n"
    "    deny: [{family: identification, fields: [is_minor]}]\n"
    "    reason: test\n"
)


def test_rules_that_break_confidentiality_or_a_prohibition_are_errors() -> None:
    police = GOOD_POLICE + "      - {family: placement, fields: all, personal_fields: all}\n"
    text = policy_text(police, top=CONFIDENTIAL)
    messages = {(i.line, i.path, i.message) for i in issues_of(text)}
    assert messages == {
        (
            line_of(text, "family: identification, fields: [nationality"),
            "agency_types.police.access[0].fields",
            "gives police is_minor of family identification, which prohibition "
            "'no_police_minors' denies",
        ),
        (
            line_of(text, "personal_fields: all}"),
            "agency_types.police.access[1].personal_fields",
            "gives police the confidential field 'location' of family placement, "
            "visible only to coordinator, own_shelter",
        ),
    }


def test_a_lawful_basis_cannot_widen_an_agency_types_access() -> None:
    basis = (
        "lawful_bases:\n"
        "  - id: wide\n"
        "    basis: legal_obligation\n"
        "    reference: test\n"
        "    family: identification\n"
        "    recipients: {agency_types: [police], jurisdiction_from: envelope.jurisdiction}\n"
        "    fields: [nationality, gender]\n"
    )
    text = policy_text(GOOD_POLICE, top=basis)
    (issue,) = issues_of(text)
    assert issue.path == "lawful_bases[0].recipients.agency_types[0]"
    assert issue.line == line_of(text, "recipients:")
    assert issue.message.startswith("gives police gender of family identification, beyond")


def test_every_error_is_reported_in_file_order() -> None:
    police = (
        "    purposes: [protection, spying]\n"
        "    access:\n"
        "      - {family: identification, fields: [nationalty], condition: sunny}\n"
    )
    text = policy_text(police, top="colour: blue\n") + "  auditor: {purposes: [], access: []}\n"
    issues = issues_of(text)
    assert len(issues) >= 5
    lines = [issue.line for issue in issues]
    assert lines == sorted(lines)
    assert len(set(lines)) >= 4
    rendered = str(PolicyError(issues)).splitlines()
    assert rendered == [str(issue) for issue in issues]
    assert rendered[0] == f"broken.yaml:{line_of(text, 'colour')}:1: colour: " + issues[0].message


def test_anchors_aliases_and_merge_keys_are_not_duplicates() -> None:
    text = policy_text(GOOD_POLICE, auditor=False) + (
        "  auditor:\n    <<: &nothing {purposes: [], access: []}\n    access: []\n"
        "x_unused: *nothing\n"
    )
    (issue,) = issues_of(text)
    assert (issue.path, issue.line) == ("x_unused", line_of(text, "x_unused"))
    text = text.replace("x_unused: *nothing\n", "")
    assert load_policy_text(text, "ok.yaml").agency_types["auditor"].access == ()


def test_an_empty_file_is_located_at_its_start() -> None:
    (issue,) = issues_of("")
    assert (issue.location, issue.path) == ("broken.yaml:1:1", "")
    assert issue.message == "expected a mapping, got empty value"


def test_known_fields_come_from_the_caller(tmp_path: Path) -> None:
    text = policy_text(GOOD_POLICE.replace("is_minor]", "is_minor, shoe_size]"))
    assert "shoe_size" in str(issues_of(text)[0])
    known = {**DOMAIN_FIELDS, ID: DOMAIN_FIELDS[ID] | {"shoe_size"}}
    path = tmp_path / "custom.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_policy(path, known_fields=known).agency_types["police"].access[0].fields == (
        "nationality",
        "is_minor",
        "shoe_size",
    )
