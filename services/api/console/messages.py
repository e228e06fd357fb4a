"""Every string the console shows, in one place, so the pages can be translated.

Templates call ``t("key")``; Python code uses :func:`message`.  A translation
is another dict with the same keys, chosen by :data:`LANGUAGE`.
"""

from __future__ import annotations

LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "site": "Haven oversight console",
        "skip": "Skip to content",
        "nav": "Pages",
        "signed_in_as": "Signed in as",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "sign_in_intro": "Paste your agency's API token. It is exchanged for a session"
        " cookie and never shown again or put in an address.",
        "token": "Agency token",
        "bad_token": "That token is not valid. Check it and try again.",
        "bad_form": "The form has expired. Reload the page and try again.",
        "session_over": "Your session has ended. Sign in again.",
        "home": "Overview",
        "home_intro": "The pages your agency may open:",
        "no_pages": "Your agency has no oversight pages. The API serves its read models.",
        "agency": "Agency",
        "agency_type": "Type",
        "jurisdiction": "Jurisdiction",
        "forbidden_title": "Not allowed",
        "forbidden": "Your agency may not open this page. Auditor pages are for auditor"
        " agencies, indicators for coordinators and auditors.",
        "back_home": "Back to the overview",
        "chain": "Audit chain",
        "chain_intro": "Each log partition has its own hash chain. Verify recomputes every"
        " chain, checks the archived records and the anchored heads.",
        "topic": "Topic",
        "partition": "Partition",
        "entries": "Entries",
        "last_offset": "Last offset",
        "result": "Result",
        "first_break": "First broken position",
        "kind": "Kind",
        "holds": "holds",
        "broken": "BROKEN",
        "failed": "failed",
        "running": "running",
        "interrupted": "interrupted",
        "never": "never verified",
        "last_verify": "Last verify",
        "started_by": "Started by",
        "started": "Started",
        "finished": "Finished",
        "run_verify": "Run verify now",
        "verify_running": "Verify is running. This page refreshes itself.",
        "progress": "Progress",
        "runs": "Recent verify runs",
        "run": "Run",
        "status": "Status",
        "trail": "Subject trail",
        "trail_intro": "Everything the audit tables hold about one subject: events,"
        " recipients, refusals, readers and erasure receipts. Ids, types and times only.",
        "subject": "Subject id",
        "search": "Search",
        "filter": "Filter",
        "bad_filter": "A filter is malformed: a subject id is a lower-case UUID, an agency id"
        " lower-case letters, digits and underscores.",
        "no_trail": "Nothing is recorded about this subject.",
        "recipients": "Recipients",
        "timeline": "Timeline",
        "time": "Time",
        "what": "What",
        "by": "By",
        "details": "Details",
        "ev_event": "Event",
        "ev_refusal": "Refused",
        "ev_read": "Read",
        "ev_receipt": "Erasure receipt",
        "outcome": "outcome",
        "reason": "reason",
        "endpoint": "endpoint",
        "access_log": "Access log",
        "access_intro": "Every read of a subject's data: which agency, which subject,"
        " through which page or endpoint, and when.",
        "read_at": "Read at",
        "older": "Older entries",
        "nothing": "Nothing to show.",
        "erasures": "Erasure receipts",
        "erasures_intro": "What each erasing withdrawal removed, kept and destroyed, per"
        " agency and read model.",
        "withdrawal": "Withdrawal event",
        "projector": "Read model",
        "rows_erased": "Rows erased",
        "rows_retained": "Rows kept",
        "retained_bases": "Lawful bases kept",
        "key_action": "Key action",
        "key_due": "Key due",
        "created": "Created",
        "indicators": "Indicators",
        "indicators_intro": "Subjects identified per jurisdiction and month. A cell counting"
        " fewer than 5 subjects is suppressed: it is shown as suppressed, never as a number.",
        "suppressed": "suppressed",
        "month": "Month",
        "subjects": "Subjects identified",
        "share_minors": "Share of minors",
        "share_risk": "Risk assessed within 72 h",
        "median_hours": "Median hours to placement",
        "with_orders": "Subjects with active orders",
        "by_type": "By exploitation type",
        "chart_of": "Subjects identified per month in",
        "no_indicators": "No indicators yet.",
        "risk_register": "Risk register",
        "risk_intro": "Subjects at high or critical risk, most urgent first. Free-text"
        " notes are not shown here.",
        "level": "Level",
        "factors": "Factors",
        "needs": "Immediate needs",
        "review_by": "Review by",
        "assessed_at": "Assessed at",
        "pipeline": "Pipeline",
        "pipeline_intro": "What the sealer and the engine have done, and how far behind"
        " they are. The same figures as /metrics.",
        "sealed": "Events sealed",
        "projected": "Log records projected",
        "erasures_done": "Erasing withdrawals applied",
        "keys_destroyed": "Data keys destroyed",
        "workers_ready": "Workers ready",
        "rejected": "Rejected, by reason",
        "stage": "Stage",
        "count": "Count",
        "lag": "Lag per partition",
        "consumer": "Consumer",
        "behind": "Records behind",
        "broker_unavailable": "The broker did not answer: lag unknown.",
        "workers": "Worker heartbeats",
        "worker": "Worker",
        "ready_at": "Ready since",
        "beat_at": "Last beat",
        "beat_age": "Seconds since",
        "dead_letters": "Dead letters",
        "dead_intro": "Rejected inputs on the dead-letter queue, by reason and agency."
        " The originals stay sealed and are never shown.",
        "dead_unavailable": "The dead-letter queue could not be read.",
        "agencies": "Agencies",
        "agencies_intro": "Registered agencies and the read models kept for each."
        " Tokens are never shown.",
        "name": "Name",
        "registered_at": "Registered",
        "projectors": "Read models",
        "yes": "yes",
        "no": "no",
    }
}


def message(key: str) -> str:
    """The text of ``key`` in the console's language (a missing key is a bug: KeyError)."""
    return MESSAGES[LANGUAGE][key]
