"""``haven subject export ID --agency A``: the survivor's portable export (GDPR Art. 20).

The same rules as ``GET /v1/subjects/{id}/export``: A must be the subject's
identifying agency, or a coordinator or legal aid agency holding her; the
document holds exactly A's own read-model rows about her, personal fields
opened; the export is written to the access log (endpoint ``export``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic_core import to_jsonable_python

from infra.migrate import migrated_engine
from infra.secrets import load_master_key
from infra.settings import CommonSettings
from projectors.directory.agencies import AgencyNotFound, get_agency, schema_name
from projectors.keys.keyring import Keyring
from services.api.auth import Caller
from services.api.db.access_log import record_reads
from services.api.db.unseal import unseal
from services.api.rights.access import acting_state, export_document, export_rows
from services.cli.context import endpoints_or_exit, err_console

app = typer.Typer(help="A survivor's rights: her data as one agency holds it.")


@app.command("export")
def export(
    subject_id: Annotated[str, typer.Argument(help="the pseudonymous subject id")],
    agency: Annotated[str, typer.Option("--agency", help="the agency acting for her")],
    out: Annotated[
        Path | None, typer.Option("--out", help="write the JSON here (default: stdout)")
    ] = None,
) -> None:
    """Everything AGENCY may see about her, as one JSON document (exit 3 if not entitled)."""
    settings = CommonSettings()
    endpoints = endpoints_or_exit(settings)
    with migrated_engine(endpoints) as engine:
        try:
            with engine.connect() as conn:
                found = get_agency(conn, agency)
        except AgencyNotFound as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        caller = Caller(found.id, found.agency_type, found.jurisdiction, found.db_role)
        if acting_state(engine, caller, subject_id) is None:
            err_console.print(f"[red]forbidden:[/red] {agency} may not act for this subject")
            raise typer.Exit(3)
        with engine.connect() as conn:
            mapped = conn.execution_options(schema_translate_map={None: schema_name(agency)})
            rows = export_rows(mapped, schema_name(agency), subject_id)
        record_reads(engine, agency, "export", [subject_id])
        keyring = Keyring(engine, load_master_key(settings), cache_ttl_s=0)
        document = export_document(subject_id, agency, unseal(rows, keyring.key))
    text = json.dumps(to_jsonable_python(document), indent=2, sort_keys=True)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote the export of {subject_id} for {agency} to {out}")
