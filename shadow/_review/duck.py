"""The DuckDB engine: one embedded connection over any number of logs.

How a review runs:

1. :mod:`shadow._review.prescan` counts each log's lines and indexes its blocks at byte
   level (decompressing gzip, and rewriting a copy only for lines over the length limit).
2. One SQL pass (:func:`shadow._review.sql.read_json_sql`, ``json_classified_sql`` and
   ``aggregate_sql``) reads every line with DuckDB's ``read_json`` into typed columns,
   classifies it, and fills a small table of grouping-set rows: per group, per op, per time
   second, per duration bucket, skipped lines by reason, rows per file, and the few rows
   Python must see (lines DuckDB could not read, run summaries).  Memory is bounded by a
   DuckDB ``memory_limit``; nothing per event is kept.  Rows are numbered by their ordinal
   in the file: ``read_json`` gives no row for a blank line, so when a file's row count
   says it has blank lines, the pre-scan finds them and ordinals are mapped back to line
   numbers (only for the few rows that are reported).
3. The "lane": the text of each row DuckDB could not read (fetched by line number) is
   classified by the line-level SQL (:func:`shadow._review.sql.classified_sql`) and, when
   DuckDB cannot parse it either, by Python (torn-line resync, exact skip reason); lines it
   rescues are aggregated by the same SQL and merged in.
4. Small queries over that table, plus the few lines fetched back by line number (the
   smallest reproducing input of each group, message examples, run summaries), build the
   :class:`~shadow._review.model.Review`.

``shadow query`` and ``shadow export`` read lines with ``read_csv`` and classify them with
the same line-level SQL, through :meth:`LogSet.events_view`.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil, exp
from pathlib import Path
from typing import Any, Final

import duckdb

from shadow._review import prescan, sql
from shadow._review.blobs import blob_size
from shadow._review.inputs import ReviewInputError, resolve_logs
from shadow._review.model import (
    NO_INPUT,
    DurationSummary,
    Group,
    Message,
    OpStats,
    ReadSummary,
    Review,
    RunInfo,
    Sides,
    severity_rank,
    sort_groups,
)
from shadow._review.prescan import (
    EdgeSample,
    PreparedLog,
    Prescanner,
    Reader,
    anchor_points,
    blank_lines,
    fetch_lines,
    remove_scratch,
    rows_to_lines,
    sample_edges,
    scratch_dir,
)
from shadow._review.reproducer import build_reproducer
from shadow._review.resync import BLANK, loads, parse_line
from shadow._review.timeline import Timeline, format_us

_NO_LINES: Final = (
    "SELECT NULL::INTEGER AS f, NULL::BIGINT AS line_no, NULL::VARCHAR AS line WHERE false"
)
#: Default memory budget of DuckDB (override: ``SHADOW_REVIEW_MEMORY``, e.g. ``1GB``).
DEFAULT_MEMORY_LIMIT: Final = "256MB"
MESSAGES_PER_GROUP: Final = 5
_LADDER: Final[tuple[int, ...]] = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200)


def connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a memory limit, spilling to ``scratch`` when it must."""
    config: dict[str, Any] = {
        "memory_limit": os.environ.get("SHADOW_REVIEW_MEMORY", DEFAULT_MEMORY_LIMIT),
        "temp_directory": os.environ.get("SHADOW_REVIEW_SPILL", tempfile.gettempdir()),
        "preserve_insertion_order": True,
    }
    threads = os.environ.get("SHADOW_REVIEW_THREADS")
    if threads:
        config["threads"] = int(threads)
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(sql.MACROS)
    return con


@dataclass(slots=True)
class LogSet:
    """Prepared logs and the connection that reads them; close it (or use :func:`open_logs`)."""

    logs: list[PreparedLog]
    con: duckdb.DuckDBPyConnection
    scratch: Path
    marker: str

    @property
    def lines(self) -> int:
        return sum(log.lines for log in self.logs)

    def source_sql(self) -> str | None:
        """The relation of every line of every readable log, or None if there is none."""
        readable = [log for log in self.logs if log.read_path is not None]
        if not readable:
            return None
        offsets, total = [], 0
        for log in readable:
            offsets.append(total)
            total += log.lines
        return sql.read_lines_sql(
            [str(log.read_path) for log in readable], [log.index for log in readable], offsets
        )

    def is_complete(self, f: int, line_no: int) -> bool:
        log = self.logs[f]
        return log.complete or line_no != log.lines

    def python_lane(self, rows: Iterable[tuple[int, int, str]]) -> tuple[Counter[str], list[Any]]:
        """Parse lines DuckDB could not: skip reasons, and rescued ``(f, line, text)``."""
        reasons: Counter[str] = Counter()
        rescued: list[tuple[int, int, str]] = []
        for f, line_no, text in rows:
            parsed = parse_line(text.encode("utf-8"), self.is_complete(f, line_no))
            reasons.update(parsed.skipped)
            if parsed.text is not None:
                rescued.append((f, line_no, parsed.text.decode("utf-8")))
        return reasons, rescued

    def store_rescued(self, rescued: Sequence[tuple[int, int, str]]) -> str:
        """Put rescued lines in a table; return the SQL relation of their lines."""
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE shadow_rescued (f INTEGER, line_no BIGINT, line VARCHAR)"
        )
        if rescued:
            self.con.execute(
                "INSERT INTO shadow_rescued SELECT unnest($1), unnest($2), unnest($3)",
                [[r[0] for r in rescued], [r[1] for r in rescued], [r[2] for r in rescued]],
            )
        return "SELECT f, line_no, line FROM shadow_rescued"

    def events_view(self, name: str = "events") -> Counter[str]:
        """Create the documented view of every event (``shadow query``/``export``).

        Scans once to find the lines DuckDB cannot parse (torn lines may hide an event), so
        the view holds exactly the events a review counts.  Returns skipped lines by reason.
        """
        fields = [f.column for f in sql.EVENT_FIELDS]
        files = (
            "SELECT * FROM (VALUES "
            + ", ".join(f"({log.index}, {sql.quote(str(log.path))})" for log in self.logs)
            + ") AS t(f, file)"
        )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE shadow_files AS {files}")
        source = self.source_sql()
        parts: list[str] = []
        skipped: Counter[str] = Counter()
        for log in self.logs:
            skipped.update(dict(log.markers))
            skipped.update(dict(log.skipped))
        if source is not None:
            marker_sql = "chr(0) || " + sql.quote(self.marker[1:])
            bad = self.con.execute(
                f"SELECT f, line_no, line FROM ({source}) "
                f"WHERE line IS NOT NULL AND NOT starts_with(line, {marker_sql}) "
                "AND NOT json_valid(line) AND trim(line, chr(32) || chr(9) || chr(11) || chr(12)) <> ''"
            ).fetchall()
            reasons, rescued = self.python_lane(bad)
            skipped.update(reasons)
            parts.append(sql.classified_sql(source, self.marker, fields=fields, trusted=False))
            if rescued:
                parts.append(
                    sql.classified_sql(
                        self.store_rescued(rescued),
                        self.marker,
                        fields=fields,
                        trusted=True,
                    )
                )
        columns = ", ".join(f"v_{f} AS {f}" for f in fields)
        if parts:
            union = " UNION ALL ".join(
                f"SELECT file, line_no AS line, {columns}, CAST(v_ts AS DATE) AS day, "
                "line::JSON AS raw "
                f"FROM ({p}) JOIN shadow_files USING (f) WHERE status = 'event'"
                for p in parts
            )
        else:
            types = {"str": "VARCHAR", "num": "DOUBLE", "ts": "TIMESTAMP"}
            cols = ", ".join(
                f"NULL::{types.get(f.kind, 'BIGINT')} AS {f.column}" for f in sql.EVENT_FIELDS
            )
            union = (
                f"SELECT NULL::VARCHAR AS file, NULL::BIGINT AS line, {cols}, "
                "NULL::DATE AS day, NULL::JSON AS raw WHERE false"
            )
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {union}")
        return skipped

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            remove_scratch(self.scratch)


def prepare(
    paths: Sequence[str | os.PathLike[str]], *, command: str = "review", reader: Reader = "lines"
) -> LogSet:
    """Resolve and pre-scan logs for ``reader``, and open a connection.

    Raises ``ReviewInputError``.  ``reader`` is how DuckDB will read the lines: ``lines``
    (``read_csv``, for :meth:`LogSet.events_view`) or ``json`` (``read_json``, for review).
    """
    files = resolve_logs(paths, command=command)
    scratch = scratch_dir(_sizes(files))
    try:
        scanner = Prescanner(scratch, secrets.token_hex(8), reader)
        logs = [_scan(scanner, path, i) for i, path in enumerate(files)]
        con = connect(scratch)
    except BaseException:
        remove_scratch(scratch)
        raise
    return LogSet(logs, con, scratch, _marker(scanner))


def _sizes(files: Sequence[Path]) -> list[int]:
    sizes = []
    for path in files:
        try:
            sizes.append(path.stat().st_size * (8 if path.suffix == ".gz" else 1))
        except OSError:
            sizes.append(0)
    return sizes


def _scan(scanner: Prescanner, path: Path, index: int, marks: Sequence[int] = ()) -> PreparedLog:
    try:
        return scanner.prepare(path, index, marks)
    except OSError as exc:
        raise ReviewInputError(f"cannot read {path}: {exc.strerror or 'read error'}") from None


def _marker(scanner: Prescanner) -> str:
    return "\x00" + scanner.marker[1:].decode("ascii")


@contextmanager
def open_logs(
    paths: Sequence[str | os.PathLike[str]], *, command: str = "review", reader: Reader = "lines"
) -> Iterator[LogSet]:
    logset = prepare(paths, command=command, reader=reader)
    try:
        yield logset
    finally:
        logset.close()


# ---------------------------------------------------------------------------- review


def review_with_duckdb(
    paths: Sequence[str | os.PathLike[str]], *, max_buckets: int = 240
) -> Review:
    files = resolve_logs(paths, command="review")
    scratch = scratch_dir(_sizes(files))
    try:
        con = connect(scratch)
        try:
            return _Reviewer(con, files, scratch, max_buckets).run()
        finally:
            con.close()
    finally:
        remove_scratch(scratch)


class _Reviewer:
    def __init__(
        self, con: duckdb.DuckDBPyConnection, files: list[Path], scratch: Path, max_buckets: int
    ) -> None:
        self.con = con
        self.files = files
        self.scanner = Prescanner(scratch, secrets.token_hex(8), "json")
        self.ls = LogSet([], con, scratch, _marker(self.scanner))
        self.max_buckets = max_buckets
        self.masks = sql.set_masks()
        self.skipped: Counter[str] = Counter()
        self.rescued: dict[tuple[int, int], str] = {}
        self.field_problems: Counter[tuple[str, str]] = Counter()
        self.blanks: dict[int, list[int]] = {}  # per file with blank lines: their numbers
        self.source = ""  # the SQL of the rows read_json gives
        self.per_second = True  # whether the main pass counted the timeline per second
        self.raw_messages = False  # whether the main pass kept summaries unmasked
        self._anchors: list[tuple[int, int, str]] = []  # (f, byte offset, call id)

    def q(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(query, params).fetchall()

    def rows(self, name: str, columns: str, where: str = "") -> list[tuple[Any, ...]]:
        extra = f" AND ({where})" if where else ""
        return self.q(f"SELECT {columns} FROM shadow_agg WHERE g = {self.masks[name]}{extra}")

    def run(self) -> Review:
        self.ls.logs = self._read()
        for log in self.ls.logs:
            self.skipped.update(dict(log.skipped))
        if not self.source:
            self.con.execute(sql.aggregate_sql("shadow_agg", self._classified_lines(_NO_LINES)))
            self._store_summaries([])
        else:
            self._resolve()
        return self._build()

    def _classified_lines(self, source: str, *, trusted: bool = True) -> str:
        return sql.classified_sql(source, self.ls.marker, fields=sql.REVIEW_FIELDS, trusted=trusted)

    def _read(self) -> list[PreparedLog]:
        """Pre-scan the logs and run the main pass; both at once for plain files.

        DuckDB reads a plain log in place while a thread counts its lines (the query
        releases the interpreter), so the scan costs no wall time of its own on a machine
        with a core to spare.  A gzip log is decompressed first, since DuckDB reads the copy.
        Should the scan find a line over the length limit (it then writes a copy where that
        line is a marker), the main pass runs again on the copy.
        """
        gzipped = {i for i, path in enumerate(self.files) if _is_gzip(path)}
        logs = {i: _scan(self.scanner, self.files[i], i) for i in sorted(gzipped)}
        plain = [i for i in range(len(self.files)) if i not in gzipped]
        reads = [
            (i, str(logs[i].read_path) if i in logs else str(self.files[i]))
            for i in range(len(self.files))
            if i not in logs or logs[i].read_path is not None
        ]
        samples: list[EdgeSample | None] = [sample_edges(self.files[i]) for i in plain]
        if gzipped:  # nothing to sample cheaply in a compressed log: assume the worst
            samples.append(None)
        self.per_second = self._short_span(samples)
        self.raw_messages = _repeats_messages(samples)
        anchors = {i: anchor_points(self.files[i]) for i in plain}
        self._anchors = [(i, o, c) for i, points in anchors.items() for o, c in points]
        self._table(
            "shadow_anchors",
            [(i, offset, call) for i, points in anchors.items() for offset, call in points],
            columns="f INTEGER, line_no BIGINT, call_id VARCHAR",
        )
        failure: duckdb.Error | None = None
        with ThreadPoolExecutor(max_workers=1) as pool:
            scanned = pool.submit(
                lambda: [
                    _scan(self.scanner, self.files[i], i, [o for o, _ in anchors[i]]) for i in plain
                ]
            )
            try:
                self._main(reads)
            except duckdb.Error as exc:
                failure = exc
            for log in scanned.result():
                logs[log.index] = log
        if failure is not None:
            raise ReviewInputError(f"DuckDB could not read the logs: {_first_line(failure)}")
        out = [logs[i] for i in range(len(self.files))]
        if any(log.copied for log in out if log.index not in gzipped):
            self._main([(log.index, str(log.read_path)) for log in out if log.read_path])
        return out

    def _rows_per_file(self) -> dict[int, int]:
        return {
            int(f): int(n)
            for f, n in self.q(
                f"SELECT s_f, sum(n) FROM shadow_main WHERE g = {self.masks['status']} GROUP BY s_f"
            )
        }

    def _main(self, reads: list[tuple[int, str]]) -> None:
        if not reads:
            self.source = ""
            return
        self.source = sql.read_json_sql(reads, prescan.MAX_LINE_BYTES)
        sets = [n for n in sql.SET_NAMES if n != "timeline" or self.per_second]
        self.con.execute(
            sql.aggregate_sql(
                "shadow_main",
                sql.json_classified_sql(self.source),
                sets,
                raw_messages=self.raw_messages,
            )
        )

    def _short_span(self, samples: list[EdgeSample | None]) -> bool:
        """Whether the logs may span few enough minutes for a timeline finer than a minute,
        judged from the first and last timestamps of each plain log.  Counting per second
        costs a large table for a long log; when the guess is wrong the timeline still
        comes out right, from a second pass (:meth:`_count_per_second`)."""
        first = [x.first_us for x in samples if x is not None and x.first_us is not None]
        last = [x.last_us for x in samples if x is not None and x.last_us is not None]
        if not first or len(first) < len(samples) or len(last) < len(samples):
            return True
        return max(last) - min(first) < self.max_buckets * 60 * 1_000_000

    def _resolve(self) -> None:
        """Check DuckDB's rows against the pre-scan, map row ordinals to lines where blank
        lines shift them, and classify the rows DuckDB could not read (the lane)."""
        rows = self._rows_per_file()
        for log in self.ls.logs:
            n = int(rows.get(log.index, 0))
            if n == log.lines:
                continue
            blanks = self._blank_lines(log, n)
            if n != log.lines - len(blanks):  # pragma: no cover - a guard, not a code path
                raise ReviewInputError(
                    f"DuckDB read {n:,} rows of {log.path} where the pre-scan counted "
                    f"{log.lines:,} lines ({len(blanks):,} blank); "
                    "refusing to report on a partial read (was the log written meanwhile?)"
                )
            self.blanks[log.index] = blanks
            self.skipped[BLANK] += len(blanks)
        lane = self.q(
            f"SELECT l_kind, l_f, l_ln FROM shadow_main WHERE g = {self.masks['lines']} "
            "AND l_kind IS NOT NULL ORDER BY l_f, l_ln"
        )
        texts = self._fetch({(f, ln) for _, f, ln in lane})
        summaries = [(f, ln, texts.get((f, ln))) for kind, f, ln in lane if kind == "run_summary"]
        side = self._lane(
            [(f, ln, texts.get((f, ln))) for kind, f, ln in lane if kind != "run_summary"]
        )
        if side is not None:
            self.con.execute(sql.aggregate_sql("shadow_side", side))
            # Appended, not re-grouped: every reader of shadow_agg sums (or takes the
            # min/max/bit_or of) the rows of a key, so a key twice counts the same.
            self.con.execute("INSERT INTO shadow_main SELECT * FROM shadow_side")
            summaries += [
                (f, ln, line.encode("utf-8"))
                for f, ln, line in self.q(
                    f"SELECT l_f, l_ln, l_line FROM shadow_side WHERE g = {self.masks['lines']} "
                    "AND l_kind = 'run_summary'"
                )
            ]
        self.con.execute("ALTER TABLE shadow_main RENAME TO shadow_agg")
        self._store_summaries(summaries)

    def _blank_lines(self, log: PreparedLog, rows: int) -> list[int]:
        """The blank lines of a log DuckDB read ``rows`` rows of (fewer than its lines).

        The rows of the anchor lines (``prescan.anchor_points``) give the number of blank
        lines before each; only the stretches between anchors where it grows are searched.
        The whole file is, when the anchors do not account for every blank line.
        """
        noted = dict(log.marks)
        calls = {call: offset for f, offset, call in self._anchors if f == log.index}
        points = []
        for call, n, first in self.q(
            f"SELECT x_call, n, first FROM shadow_main WHERE g = {self.masks['anchors']} "
            "AND x_f = $1",
            [log.index],
        ):
            offset = calls.get(call)
            if n == 1 and offset in noted:
                line = noted[offset]
                points.append((offset, line, line - sql.unpack_first(int(first))[1]))
        regions = []
        begin, first_line, before, exact = 0, 1, 0, True
        for offset, line, blanks_before in sorted(points):
            if blanks_before < before:
                exact = False
                break
            if blanks_before > before:
                regions.append((first_line, begin, offset, blanks_before - before))
            begin, first_line, before = offset, line, blanks_before
        total = log.lines - rows
        if exact and total > before:
            regions.append((first_line, begin, 1 << 62, total - before))
        if exact and total >= before:
            found = blank_lines(log, [r[:3] for r in regions])
            if len(found) == total:
                return found
        return blank_lines(log)

    def _lane(self, rows: list[tuple[int, int, bytes | None]]) -> str | None:
        """Classify the rows ``read_json`` could not (or not surely) read, from their text.

        A text DuckDB's JSON functions parse is classified by the line-level SQL, as the
        line engine would; the rest go to Python (torn-line resync, exact skip reason), and
        what it rescues is classified by the same SQL.  Returns the SQL of the classified
        lane lines, or None when there are none.
        """
        if not rows:
            return None
        texts: list[tuple[int, int, str]] = []
        python: list[tuple[int, int, bytes]] = []
        for f, ln, raw in rows:
            if raw is None:  # pragma: no cover - the pre-scan counted this line
                raise ReviewInputError(f"cannot read line {self._line_of(f, ln)} again")
            try:
                texts.append((f, ln, raw.decode("utf-8")))
            except UnicodeDecodeError:
                python.append((f, ln, raw))
        lane = self._classified_lines(self._table("shadow_lane", texts), trusted=False)
        python += [
            (f, ln, line.encode("utf-8"))
            for f, ln, line in self.q(
                f"SELECT f, line_no, line FROM ({lane}) WHERE status = 'python'"
            )
        ]
        rescued: list[tuple[int, int, str]] = []
        for f, ln, raw in python:
            parsed = parse_line(raw, self._is_complete(f, ln))
            self.skipped.update(parsed.skipped)
            if parsed.text is not None:
                rescued.append((f, ln, parsed.text.decode("utf-8")))
        self.rescued = {(f, ln): text for f, ln, text in rescued}
        parts = [f"SELECT * FROM ({lane}) WHERE status <> 'python'"]
        if rescued:
            parts.append(
                f"SELECT * FROM ({self._classified_lines(self._table('shadow_rescued', rescued))})"
            )
        return " UNION ALL ".join(parts)

    def _table(
        self,
        name: str,
        rows: Sequence[tuple[int, int, str]],
        columns: str = "f INTEGER, line_no BIGINT, line VARCHAR",
    ) -> str:
        """Put ``(f, line_no, line)`` rows in a temporary table; return its SQL relation."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
        if rows:
            self.con.execute(
                f"INSERT INTO {name} SELECT unnest($1), unnest($2), unnest($3)",
                [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
            )
        return f"SELECT * FROM {name}"

    def _store_summaries(self, rows: Sequence[tuple[int, int, bytes | None]]) -> None:
        """The run summaries' lines, for :meth:`_runs` and :meth:`_ops`."""
        texts = []
        for f, ln, raw in rows:
            try:
                texts.append((f, ln, raw.decode("utf-8") if raw is not None else None))
            except UnicodeDecodeError:  # pragma: no cover - DuckDB read it as text
                continue
        self._table("shadow_summary_lines", [(f, ln, t) for f, ln, t in texts if t is not None])

    def _line_of(self, f: int, row: int) -> int:
        """The line number of a row ordinal (see the module docstring)."""
        blanks = self.blanks.get(f)
        return row if not blanks else rows_to_lines([row], blanks)[row]

    def _is_complete(self, f: int, row: int) -> bool:
        return self.ls.is_complete(f, self._line_of(f, row))

    # ------------------------------------------------------------------ building

    def _build(self) -> Review:
        events: Counter[str] = Counter()
        fields = ("ts", "severity", "primary.duration_s", "shadow.duration_s")
        for st, n in self.q(
            f"SELECT st, sum(n) FROM shadow_agg WHERE g = {self.masks['status']} GROUP BY st"
        ):
            if st.startswith("event:"):
                events[st[len("event:") :]] += int(n)
            elif st not in ("python", "verify"):
                self.skipped[st] += int(n)
        for *problems, n in self.rows("problems", "p_ts, p_sev, p_pd, p_sd, n"):
            for field, problem in zip(fields, problems, strict=True):
                if problem is not None:
                    self.field_problems[(field, problem)] += n
        groups, op_events = self._groups()
        runs, duplicates = self._runs()
        ops = self._ops(op_events)
        timeline = self._timeline()
        by_severity: Counter[str] = Counter()
        for g in groups:
            for sev, n in g.severities:
                by_severity[sev] += n
        read = ReadSummary(
            files=tuple(str(log.path) for log in self.ls.logs),
            lines=self.ls.lines,
            events=tuple(sorted(events.items())),
            skipped=tuple(sorted((k, v) for k, v in self.skipped.items() if v)),
            field_problems=tuple(
                (field, problem, n) for (field, problem), n in sorted(self.field_problems.items())
            ),
            file_problems=tuple(
                (str(log.path), log.problem) for log in self.ls.logs if log.problem
            ),
        )
        return Review(
            generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            read=read,
            groups=sort_groups(groups),
            ops=ops,
            timeline=timeline,
            divergences=sum(g.count for g in groups),
            by_severity=tuple(sorted(by_severity.items(), key=lambda kv: -severity_rank(kv[0]))),
            duplicate_summaries=duplicates,
            runs=runs,
            engine="duckdb",
        )

    def _groups(self) -> tuple[list[Group], dict[str, Counter[str]]]:
        keys = "a_sig, a_sev, a_op, a_kind, a_src, a_pn, a_pv, a_sn, a_sv"
        combos = self.q(
            f"SELECT {keys}, sum(n), min(ts_min), max(ts_max), min(best) FROM shadow_agg "
            f"WHERE g = {self.masks['detail']} AND a_sig IS NOT NULL GROUP BY {keys}"
        )
        by_sig: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in combos:
            by_sig[row[0]].append(row)
        # Candidates for the smallest input: inline sizes from SQL, blob sizes from disk.
        best: dict[str, tuple[int, int, int]] = {}
        for sig, rows in by_sig.items():
            for row in rows:
                if row[12] is not None:
                    cand = sql.unpack_best(int(row[12]))
                    if sig not in best or cand < best[sig]:
                        best[sig] = cand
        for sig, f, ref, n, first in self.rows(
            "blob", "r_sig, r_f, r_ref, n, first", "r_sig IS NOT NULL"
        ):
            size, problem = blob_size(str(self.ls.logs[f].path.parent), ref)
            if problem is not None:
                self.field_problems[("input_ref", problem)] += n
            cand = (NO_INPUT if size is None else size, *sql.unpack_first(int(first)))
            if sig not in best or cand < best[sig]:
                best[sig] = cand
        messages = self._messages()
        wanted = {(f, ln) for _, f, ln in best.values()}
        wanted |= {(f, ln) for ms in messages.values() for _, _, f, ln in ms}
        texts = self._fetch(wanted)

        groups: list[Group] = []
        op_events: dict[str, Counter[str]] = defaultdict(Counter)
        for sig, rows in by_sig.items():
            sev: Counter[str] = Counter()
            ops: Counter[str] = Counter()
            kinds: Counter[str] = Counter()
            sources: Counter[str] = Counter()
            sides: Counter[tuple[Any, ...]] = Counter()
            ts_min = [r[10] for r in rows if r[10] is not None]
            ts_max = [r[11] for r in rows if r[11] is not None]
            for _, s, op, kind, src, pn, pv, sn, sv, n, *_ in rows:
                sev[s] += n
                ops[op] += n
                kinds[kind] += n
                sources[src] += n
                sides[(pn, pv, sn, sv)] += n
                op_events[op]["events"] += n
                if s == "critical":
                    op_events[op]["critical"] += n
            severity = max(sev, key=severity_rank)
            reproducer = None
            if sig in best:
                size, f, ln = best[sig]
                data = self._parse(texts.get((f, ln)))
                call_id = data.get("call_id") if isinstance(data, dict) else None
                reproducer = build_reproducer(
                    data if isinstance(data, dict) else None,
                    call_id=call_id if isinstance(call_id, str) else "?",
                    log_path=self.ls.logs[f].path,
                    line_no=self._line_of(f, ln),
                    size=size,
                )
            group_messages = []
            for count, _distinct, f, ln in messages.get(sig, []):
                data = self._parse(texts.get((f, ln)))
                group_messages.append(
                    Message(_summary(data, "primary"), _summary(data, "shadow"), count)
                )
            groups.append(
                Group(
                    signature=sig,
                    count=sum(sev.values()),
                    first_seen=format_us(min(ts_min)) if ts_min else None,
                    last_seen=format_us(max(ts_max)) if ts_max else None,
                    severity=severity,
                    severities=tuple(sev.most_common()),
                    ops=tuple(ops.most_common()),
                    kinds=tuple(kinds.most_common()),
                    sources=tuple(sources.most_common()),
                    reproducer=reproducer,
                    messages=tuple(group_messages),
                    distinct_messages=messages.get(sig, [(0, 0, 0, 0)])[0][1]
                    if messages.get(sig)
                    else 0,
                    sides=tuple(
                        Sides(pn, pv, sn, sv, n)
                        for (pn, pv, sn, sv), n in sorted(
                            sides.items(), key=lambda kv: (-kv[1], str(kv[0]))
                        )
                    ),
                )
            )
        return groups, op_events

    def _messages(self) -> dict[str, list[tuple[int, int, int, int]]]:
        """Up to five most frequent messages per group: (count, distinct, f, line)."""
        out: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
        key = sql.message_key_sql("b_psum", "b_ssum")
        query = f"""
            WITH m AS (
              SELECT a_sig AS b_sig, coalesce(b_key, {key}) AS b_key, sum(n) AS n,
                     min(first) AS first
              FROM shadow_agg WHERE g = {self.masks["detail"]} AND a_sig IS NOT NULL
              GROUP BY ALL
            )
            SELECT b_sig, n, count(*) OVER (PARTITION BY b_sig) AS distinct_n, first
            FROM m
            QUALIFY row_number() OVER (PARTITION BY b_sig ORDER BY n DESC, first) <= {MESSAGES_PER_GROUP}
            ORDER BY b_sig, n DESC, first
        """
        for sig, n, distinct, first in self.q(query):
            out[sig].append((n, distinct, *sql.unpack_first(int(first))))
        return out

    def _fetch(self, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The text of rows ``(f, ordinal)``: a rescued line's kept part, else the line."""
        texts: dict[tuple[int, int], bytes] = {}
        per_file: dict[int, set[int]] = defaultdict(set)
        for f, ln in wanted:
            rescued = self.rescued.get((f, ln))
            if rescued is not None:
                texts[(f, ln)] = rescued.encode("utf-8")
            else:
                per_file[f].add(ln)
        for f, rows in per_file.items():
            blanks = self.blanks.get(f)
            lines = rows_to_lines(rows, blanks) if blanks else {r: r for r in rows}
            found = fetch_lines(self.ls.logs[f], lines.values())
            for row, ln in lines.items():
                if ln in found:
                    texts[(f, row)] = found[ln]
        return texts

    @staticmethod
    def _parse(raw: bytes | None) -> Any:
        if raw is None:
            return None
        try:
            return loads(raw)
        except ValueError:
            return None

    def _runs(self) -> tuple[tuple[RunInfo, ...], int]:
        base = """
            WITH rs AS (
              SELECT f, line_no AS ln, line, json_extract_string(line, '$.run_id') AS run_id
              FROM shadow_summary_lines
            ),
            ranked AS (
              SELECT *, row_number() OVER (PARTITION BY run_id ORDER BY f, ln) AS k FROM rs
            ),
            kept AS (SELECT * FROM ranked WHERE run_id IS NULL OR k = 1)
        """
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE shadow_runs AS {base} SELECT * FROM kept")
        duplicates = self.q(
            f"{base} SELECT count(*) FROM ranked WHERE run_id IS NOT NULL AND k > 1"
        )[0][0]
        rows = self.q(
            """
            SELECT run_id, shadow_us(json_extract_string(line, '$.ts')),
                   json_extract_string(line, '$.mode'),
                   json_extract_string(line, '$.source'),
                   json_extract_string(line, '$.target'),
                   json_extract_string(line, '$.primary.name'),
                   json_extract_string(line, '$.primary.version'),
                   json_extract_string(line, '$.shadow.name'),
                   json_extract_string(line, '$.shadow.version'),
                   f, ln
            FROM shadow_runs ORDER BY f, ln
            """
        )
        runs = tuple(
            RunInfo(
                run_id=r[0],
                ts=format_us(r[1]) if r[1] is not None else None,
                mode=r[2],
                source=r[3],
                target=r[4],
                primary_name=r[5],
                primary_version=r[6],
                shadow_name=r[7],
                shadow_version=r[8],
                log=str(self.ls.logs[r[9]].path),
                line=self._line_of(r[9], r[10]),
            )
            for r in rows
        )
        return runs, int(duplicates)

    def _ops(self, op_events: dict[str, Counter[str]]) -> tuple[OpStats, ...]:
        counters = {
            r[0]: r[1:]
            for r in self.q(
                """
                WITH c AS (
                  SELECT je.key AS op, je.value AS c
                  FROM shadow_runs, json_each(shadow_runs.line, '$.counters') AS je
                  WHERE json_type(shadow_runs.line, '$.counters') = 'OBJECT'
                    AND json_type(je.value) = 'OBJECT'
                )
                SELECT op, count(*),
                       sum(coalesce(shadow_int(json_extract(c, '$.calls')), 0)),
                       sum(coalesce(shadow_int(json_extract(c, '$.sampled')), 0)),
                       sum(coalesce(shadow_int(json_extract(c, '$.matched')), 0)),
                       sum(coalesce(shadow_int(json_extract(c, '$.tolerated')), 0)),
                       sum(coalesce(shadow_int(json_extract(c, '$.skipped')), 0))
                FROM c GROUP BY op
                """
            )
        }
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        for op, kind, n in self.q(
            """
            WITH c AS (
              SELECT je.key AS op, je.value AS c
              FROM shadow_runs, json_each(shadow_runs.line, '$.counters') AS je
              WHERE json_type(shadow_runs.line, '$.counters') = 'OBJECT'
                AND json_type(je.value) = 'OBJECT'
            )
            SELECT op, dk.key, sum(coalesce(shadow_int(dk.value), 0))
            FROM c, json_each(c.c, '$.diverged') AS dk
            WHERE json_type(c.c, '$.diverged') = 'OBJECT'
            GROUP BY ALL
            UNION ALL
            SELECT op, 'total', sum(shadow_int(json_extract(c, '$.diverged')))
            FROM c WHERE json_type(c, '$.diverged') IN ('BIGINT', 'UBIGINT')
            GROUP BY ALL
            """
        ):
            by_kind[op][kind] += int(n or 0)
        durations = self._durations()
        out = []
        for op in sorted(set(op_events) | set(counters)):
            c = counters.get(op)
            known = c is not None

            def val(i: int, c: Any = c) -> int | None:
                return int(c[i]) if c is not None else None

            out.append(
                OpStats(
                    op=op,
                    divergences=op_events[op]["events"] if op in op_events else 0,
                    critical=op_events[op]["critical"] if op in op_events else 0,
                    runs=val(0) or 0,
                    calls=val(1),
                    sampled=val(2),
                    matched=val(3),
                    tolerated=val(4),
                    skipped=val(5),
                    diverged=sum(by_kind[op].values()) if known else None,
                    diverged_by_kind=tuple(sorted(by_kind[op].items())),
                    durations=durations.get(op),
                )
            )
        return tuple(out)

    def _durations(self) -> dict[str, DurationSummary]:
        hist: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
        zero = sql.ZERO_DURATION_BUCKET
        for op, pb, sb, n in self.rows("durations", "d_op, d_pb, d_sb, n", "d_op IS NOT NULL"):
            if pb is not None:
                hist[op]["pd"][pb] += n
            if sb is not None:
                hist[op]["sd"][sb] += n
            if pb is not None and sb is not None and pb != zero and sb != zero:
                hist[op]["rt"][sb - pb] += n
        k = sql.DURATION_BUCKETS_PER_E
        out = {}
        for op, sides in hist.items():
            pd, sd, rt = (list(sides[key].items()) for key in ("pd", "sd", "rt"))
            out[op] = DurationSummary(
                timed=sum(n for _, n in rt),
                primary_median=_quantile(pd, 0.5),
                primary_p95=_quantile(pd, 0.95),
                shadow_median=_quantile(sd, 0.5),
                shadow_p95=_quantile(sd, 0.95),
                ratio_median=_quantile(rt, 0.5),
                ratio_p95=_quantile(rt, 0.95),
                resolution=exp(1 / k) - 1,
            )
        return out

    def _timeline(self) -> Timeline:
        """Adaptive buckets, as the streaming reference does: the smallest ladder width
        (1 s, 5 s, ... 1 day, then doubling) with at most ``max_buckets`` non-empty ones.

        The main pass counts events per minute and op, with a mask of the seconds of the
        minute that had one: that decides every width, and gives the counts of widths of a
        minute or more.  Counts per second are needed only for a finer width, which means
        events in at most ``max_buckets`` minutes."""
        minutes = f"g = {self.masks['minutes']} AND m_min IS NOT NULL"
        width = self._width(minutes)
        if width < 60:
            self._count_per_second()
            query = (
                f"SELECT c_sec // {width} * {width}, c_op, sum(n) FROM shadow_agg "
                f"WHERE g = {self.masks['timeline']} AND c_sec IS NOT NULL GROUP BY ALL"
            )
        else:
            k = width // 60
            query = (
                f"SELECT m_min // {k} * {width}, m_op, sum(n) FROM shadow_agg "
                f"WHERE {minutes} GROUP BY ALL"
            )
        buckets: dict[int, Counter[str]] = defaultdict(Counter)
        for start, op, n in self.q(query):
            buckets[int(start)][op] += int(n)
        unparsed = sum(n for (field, _), n in self.field_problems.items() if field == "ts")
        return Timeline(
            bucket_seconds=width,
            buckets=tuple(
                (start, tuple(sorted(counts.items()))) for start, counts in sorted(buckets.items())
            ),
            unparsed=unparsed,
        )

    def _width(self, minutes: str) -> int:
        distinct = self.q(f"SELECT count(DISTINCT m_min) FROM shadow_agg WHERE {minutes}")[0][0]
        if distinct <= self.max_buckets:
            masks: dict[int, int] = defaultdict(int)
            for minute, mask in self.q(f"SELECT m_min, mask FROM shadow_agg WHERE {minutes}"):
                masks[minute] |= int(mask)
            for width in (w for w in _LADDER if w < 60):
                full = (1 << width) - 1
                used = sum(
                    1
                    for mask in masks.values()
                    for start in range(0, 60, width)
                    if (mask >> start) & full
                )
                if used <= self.max_buckets:
                    return width
            return 60
        for width in _widths():
            if width < 60:
                continue
            n = self.q(
                f"SELECT count(DISTINCT m_min // {width // 60}) FROM shadow_agg WHERE {minutes}"
            )[0][0]
            if n <= self.max_buckets:
                return width
        raise AssertionError("unreachable")  # pragma: no cover

    def _count_per_second(self) -> None:
        """Make sure ``shadow_agg`` counts the main pass's events per second (the lane's
        always are): a second pass when the main pass judged the logs too long for it."""
        if self.per_second or not self.source:
            return
        self.con.execute(
            sql.aggregate_sql("shadow_seconds", sql.json_classified_sql(self.source), ("timeline",))
        )
        self.con.execute("INSERT INTO shadow_agg SELECT * FROM shadow_seconds")
        self.per_second = True


def _widths() -> Iterator[int]:
    yield from _LADDER[1:]
    width = 86400
    while True:
        yield width
        width *= 2


def _repeats_messages(samples: list[EdgeSample | None]) -> bool:
    """Whether the sampled divergences repeat their summaries: at most one distinct pair in
    eight.  Then the main pass groups the summaries as they are, and masks digits only in the
    few distinct ones; else it masks them line by line (see ``sql.aggregate_sql``)."""
    pairs = [pair for x in samples if x is not None for pair in x.summaries]
    if any(x is None for x in samples) or len(pairs) < 16:
        return False
    return len({(str(a), str(b)) for a, b in pairs}) * 8 <= len(pairs)


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == prescan.GZIP_MAGIC
    except OSError as exc:
        raise ReviewInputError(f"cannot read {path}: {exc.strerror or 'read error'}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "error"


def _quantile(hist: list[tuple[int, int]], q: float) -> float | None:
    """Lower quantile of a log-bucket histogram, at the bucket's centre value."""
    total = sum(n for _, n in hist)
    if total == 0:
        return None
    rank = max(1, ceil(q * total - 1e-9))
    seen = 0
    for bucket, n in sorted(hist):
        seen += n
        if seen >= rank:
            if bucket == sql.ZERO_DURATION_BUCKET:
                return 0.0
            return exp(bucket / sql.DURATION_BUCKETS_PER_E)
    return None  # pragma: no cover


def _summary(data: Any, side: str) -> str | None:
    if not isinstance(data, dict):
        return None
    info = data.get(side)
    if not isinstance(info, dict):
        return None
    summary = info.get("summary")
    return summary if isinstance(summary, str) else None
