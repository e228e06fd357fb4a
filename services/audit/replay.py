"""``haven audit replay``: rebuild every read model in a scratch database and compare.

The scratch database lives on the same server (``<live>_replay_<hex>``), is
migrated, gets the agency directory and the stored policies, and is fed the
log (or the archive) through the real :class:`EngineCore` up to the live
engine's positions; the archive may be replayed by several processes, each
reading and applying a share of the partitions (:class:`FromArchive`).  Then
every read-model table of both databases is compared by row count and
content checksum (docs/audit.md "Replay").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, make_url, text

from infra.db import sync_engine
from infra.migrate import migrate
from projectors.audit.archive import archived_partitions
from projectors.directory.roles import STATS_SCHEMA
from projectors.log import ENGINE_POSITIONS, LogRecord
from projectors.policy.model import Policy
from projectors.readmodels.sdk import ProjectorRegistry
from projectors.replay import replay_below
from projectors.replay.processes import replay_archive


@dataclass(frozen=True)
class TableSum:
    """One table's row count and content checksum (md5 over sorted row md5s)."""

    rows: int
    checksum: str


@dataclass(frozen=True)
class TableDiff:
    """One table compared in both databases."""

    schema: str
    table: str
    live: TableSum
    replayed: TableSum

    @property
    def same(self) -> bool:
        """Equal counts and checksums."""
        return self.live == self.replayed

    def to_json(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "schema": self.schema,
            "table": self.table,
            "live_rows": self.live.rows,
            "replayed_rows": self.replayed.rows,
            "live_checksum": self.live.checksum,
            "replayed_checksum": self.replayed.checksum,
            "same": self.same,
        }


@dataclass
class ReplayReport:
    """What was replayed and how the read models compare."""

    source: str
    events: int = 0
    skipped_unprojected: int = 0
    replay_s: float = 0.0
    tables: list[TableDiff] = field(default_factory=list)
    live_moved: bool = False

    @property
    def events_per_s(self) -> float:
        """Replay speed."""
        return round(self.events / self.replay_s, 1) if self.replay_s else 0.0

    @property
    def differences(self) -> list[TableDiff]:
        """Tables that differ."""
        return [t for t in self.tables if not t.same]

    @property
    def ok(self) -> bool:
        """The replay reproduced every compared table."""
        return not self.differences

    def to_json(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "ok": self.ok,
            "source": self.source,
            "events": self.events,
            "skipped_unprojected": self.skipped_unprojected,
            "replay_s": self.replay_s,
            "events_per_s": self.events_per_s,
            "live_moved": self.live_moved,
            "tables": len(self.tables),
            "differences": [t.to_json() for t in self.differences],
        }


def live_positions(engine: Engine, topic: str) -> dict[int, int]:
    """The live engine's next offsets of ``topic``."""
    with engine.connect() as conn:
        stored = ENGINE_POSITIONS.read(conn, topic)
    return {partition: offset for (_, partition), offset in stored.items()}


@contextmanager
def scratch_database(live_url: str, *, keep: bool = False) -> Iterator[tuple[str, Engine]]:
    """A new, migrated database beside the live one; dropped on exit unless ``keep``."""
    url = make_url(live_url)
    name = f"{url.database or 'haven'}_replay_{uuid.uuid4().hex[:8]}"[:63]
    admin = sync_engine(live_url, pool_size=1)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch_url = url.set(database=name).render_as_string(hide_password=False)
    engine = sync_engine(scratch_url, pool_size=2)
    try:
        migrate(engine)
        yield name, engine
    finally:
        engine.dispose()
        if not keep:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_directory(live: Engine, scratch: Engine) -> None:
    """Agencies and stored policies: what the engine reads besides the log."""
    with live.connect() as src:
        agencies = src.execute(
            text("SELECT id, agency_type, jurisdiction, name, db_role FROM haven_core.agencies")
        ).all()
        policies = src.execute(
            text("SELECT digest, policy_version, document FROM haven_core.policies")
        ).all()
    with scratch.begin() as dst:
        for row in agencies:
            dst.execute(
                text(
                    "INSERT INTO haven_core.agencies (id, agency_type, jurisdiction, name, db_role)"
                    " VALUES (:i, :t, :j, :n, :r)"
                ),
                dict(zip("itjnr", row, strict=True)),
            )
        for row in policies:
            dst.execute(
                text(
                    "INSERT INTO haven_core.policies (digest, policy_version, document)"
                    " VALUES (:d, :v, :doc)"
                ),
                {"d": row[0], "v": row[1], "doc": row[2]},
            )


@dataclass(frozen=True)
class FromArchive:
    """Replay the live database's archive in ``processes`` processes, each reading its
    partitions itself (:mod:`projectors.replay.processes`)."""

    processes: int


def run_replay(
    live: Engine,
    scratch: Engine,
    topic: str,
    records: Mapping[int, Iterable[LogRecord]] | FromArchive,
    *,
    source: str,
    policy: Policy | None = None,
    agencies: Sequence[str] = (),
    on_batch: Callable[[int], None] | None = None,
    registry: ProjectorRegistry | None = None,
) -> ReplayReport:
    """Replay ``records`` up to the live positions into ``scratch``; compare read models.

    ``records`` may be lazy (the archive read in chunks as the replay goes), or
    :class:`FromArchive` (the archive read by replay processes; no ``registry``).
    """
    report = ReplayReport(source)
    before = live_positions(live, topic)
    copy_directory(live, scratch)
    started = time.perf_counter()
    if isinstance(records, FromArchive):
        if registry is not None:
            raise ValueError("a projector registry cannot cross to replay processes")
        with live.connect() as conn:
            partitions = sorted(set(archived_partitions(conn, topic)) | set(before))
        bounds = {p: before.get(p, 0) for p in partitions}
        counts = replay_archive(
            live,
            scratch,
            topic,
            bounds,
            processes=records.processes,
            policy=policy,
            on_batch=on_batch,
        )
        report.events, report.skipped_unprojected = counts.replayed, counts.skipped
    else:
        report.events, report.skipped_unprojected = replay_below(
            scratch, topic, records, before, policy=policy, on_batch=on_batch, registry=registry
        )
    report.replay_s = round(time.perf_counter() - started, 3)
    report.tables = compare_read_models(live, scratch, agencies)
    report.live_moved = live_positions(live, topic) != before
    return report


def compare_read_models(
    live: Engine, scratch: Engine, agencies: Sequence[str] = ()
) -> list[TableDiff]:
    """Every read-model table of either database (limited to ``agencies`` when given)."""
    with live.connect() as a, scratch.connect() as b:
        tables = sorted(set(_tables(a)) | set(_tables(b)))
        if agencies:
            wanted = {f"agency_{agency}" for agency in agencies}
            tables = [t for t in tables if t[0] in wanted]
        return [TableDiff(s, t, _sum(a, s, t), _sum(b, s, t)) for s, t in tables]


def _tables(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        text(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND"
            " (nspname LIKE 'agency\\_%' OR nspname = :stats)"
        ),
        {"stats": STATS_SCHEMA},
    )
    return [(row[0], row[1]) for row in rows]


def _sum(conn: Connection, schema: str, table: str) -> TableSum:
    if (
        conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{schema}"."{table}"'}).scalar()
        is None
    ):
        return TableSum(0, "")
    rows = f'SELECT md5(t::text) AS h FROM "{schema}"."{table}" t'  # noqa: S608 - catalog names
    query = f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM ({rows}) s"  # noqa: S608
    row = conn.execute(text(query)).one()
    return TableSum(int(row[0]), str(row[1]))
