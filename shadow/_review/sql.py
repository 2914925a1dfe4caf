"""The SQL of the DuckDB engine: reading log lines, classifying them, typed event columns.

Why SQL text in one module: review, query and export must agree on what a line is (an
event, or a skipped line and why) and on what each column means, and the rules are easier
to check side by side with the Python reference (:mod:`shadow._review.reader`) when they
sit in one place.

Lines are read with ``read_csv`` as one VARCHAR column (no quoting, a delimiter byte that
the pre-scan guarantees is absent), so every physical line is one row, in order; a
streaming ``row_number()`` gives line numbers.  Each line is parsed once by
``json_extract`` with a list of paths; ``try`` turns a parse failure into NULL, and those
rare lines go to Python (the "python lane") for the torn-line resync and the exact reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shadow._review.model import NO_INPUT
from shadow._review.prescan import MAX_LINE_BYTES
from shadow._review.reader import KNOWN_EVENTS, KNOWN_SCHEMAS
from shadow._review.timeline import TIMELINE_END_US, TIMELINE_MIN_US

#: Characters ``bytes.strip()`` removes that can be inside a line (never ``\n``; ``\r`` is
#: rewritten by the pre-scan).
_WS: Final = "chr(32) || chr(9) || chr(11) || chr(12)"
#: Log-scale histogram resolution of durations: bucket = round(ln(seconds) * K).
DURATION_BUCKETS_PER_E: Final = 100
ZERO_DURATION_BUCKET: Final = -(10**6)

MACROS: Final = r"""
CREATE OR REPLACE TEMP MACRO shadow_ts(v) AS
    CASE WHEN ends_with(v, 'Z') THEN TRY_CAST(v AS TIMESTAMP)
         ELSE TRY_CAST(TRY_CAST(v AS TIMESTAMPTZ) AS TIMESTAMP) END;
CREATE OR REPLACE TEMP MACRO shadow_us(v) AS
    CASE WHEN isfinite(shadow_ts(v)) THEN epoch_us(shadow_ts(v)) END;
CREATE OR REPLACE TEMP MACRO shadow_int(v) AS
    CASE WHEN json_type(v) IN ('BIGINT', 'UBIGINT') THEN TRY_CAST(v AS HUGEINT) END;
CREATE OR REPLACE TEMP MACRO shadow_maybe_literal(v) AS
    ascii(v) < 65 OR ascii(v) IN (73, 78, 91, 102, 110, 116, 123);
CREATE OR REPLACE TEMP MACRO shadow_literal(v) AS
    CASE WHEN ascii(v) BETWEEN 45 AND 57 THEN ltrim(v, '0123456789.eE+-') IN ('', 'Infinity')
         WHEN ascii(v) IN (91, 123) THEN true
         ELSE v IN ('true', 'false', 'NaN', 'Infinity') END;
"""


@dataclass(frozen=True, slots=True)
class Field:
    """One extracted event field: SQL column name, JSON path, and how to type it."""

    column: str
    path: str
    kind: str  # "str", "num" (DOUBLE), "int" (BIGINT), "ts" (TIMESTAMP), "raw" (JSON text)
    doc: str


#: The columns of the ``events`` view (shadow query / export), in order.
EVENT_FIELDS: Final[tuple[Field, ...]] = (
    Field("schema", "$.schema", "str", "schema id, `shadow.event/1`"),
    Field("event", "$.event", "str", "event type: `divergence`, `run_summary`, `call`, ..."),
    Field("ts", "$.ts", "ts", "event time (UTC); NULL when missing or unparsable"),
    Field("run_id", "$.run_id", "str", "run (dispatcher, fuzz, verify session) id"),
    Field("call_id", "$.call_id", "str", "call id, unique in a log"),
    Field("target", "$.target", "str", "import spec of the target, `module:attr`"),
    Field("op", "$.op", "str", "operation name"),
    Field("kind", "$.kind", "str", "divergence kind (`value_mismatch`, ...)"),
    Field("severity", "$.severity", "str", "`critical`, `minor` or `info`"),
    Field("source", "$.source", "str", "`runtime`, `fuzz`, `corpus`, ..."),
    Field("signature", "$.signature", "str", "16 hex chars naming the problem"),
    Field("primary_name", "$.primary.name", "str", "primary implementation name"),
    Field("primary_version", "$.primary.version", "str", "primary implementation version"),
    Field("primary_duration_s", "$.primary.duration_s", "num", "primary's duration (s)"),
    Field("primary_summary", "$.primary.summary", "str", "short summary of the primary's outcome"),
    Field("shadow_name", "$.shadow.name", "str", "shadow implementation name"),
    Field("shadow_version", "$.shadow.version", "str", "shadow implementation version"),
    Field("shadow_duration_s", "$.shadow.duration_s", "num", "shadow's duration (s)"),
    Field("shadow_summary", "$.shadow.summary", "str", "short summary of the shadow's outcome"),
    Field("input_digest", "$.input_digest", "str", "`sha256:` digest of the encoded input"),
    Field("input_ref", "$.input_ref", "str", "blob path (relative to the log) of a big input"),
    Field("input_size", "$.input", "size", "bytes of the inline input's compact JSON"),
    Field("diff_count", "$.diff_count", "int", "number of differing paths"),
    Field("mode", "$.mode", "str", "dispatcher mode (`run_summary`)"),
)

#: Fields the review's aggregation reads (a subset: fewer paths, faster parse).
REVIEW_FIELDS: Final[tuple[str, ...]] = (
    "schema",
    "event",
    "signature",
    "call_id",
    "op",
    "kind",
    "severity",
    "source",
    "ts",
    "input_size",
    "input_ref",
    "primary_name",
    "primary_version",
    "primary_duration_s",
    "primary_summary",
    "shadow_name",
    "shadow_version",
    "shadow_duration_s",
    "shadow_summary",
)
_BY_NAME: Final = {f.column: f for f in EVENT_FIELDS}


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def read_lines_sql(files: Sequence[str], index: Sequence[int], offsets: Sequence[int]) -> str:
    """Every physical line of the files as ``(f, line_no, line)``, in file order.

    ``index`` maps DuckDB's file position to the log's index; ``offsets`` are the line
    counts of the files before each one (the pre-scan counted them), so a global streaming
    row number becomes a line number within its file.
    """
    file_list = "[" + ", ".join(quote(f) for f in files) + "]"
    index_list = "[" + ", ".join(str(i) for i in index) + "]"
    offset_list = "[" + ", ".join(str(o) for o in offsets) + "]"
    return f"""
        SELECT list_extract({index_list}, file_index::BIGINT + 1)::INTEGER AS f,
               (row_number() OVER ()) - list_extract({offset_list}, file_index::BIGINT + 1) AS line_no,
               line
        FROM read_csv({file_list}, columns = {{'line': 'VARCHAR'}}, delim = E'\\x01',
                      quote = '', escape = '', header = false, auto_detect = false,
                      strict_mode = false, new_line = '\\n',
                      max_line_size = {MAX_LINE_BYTES + 1024},
                      buffer_size = {2 * MAX_LINE_BYTES + 4096})
    """


#: Values accepted without a second look; anything else is checked to be a JSON string.
_KNOWN_VALUES: Final = {
    "severity": ("critical", "minor", "info"),
    "source": ("runtime", "fuzz", "corpus", "verify", "replay", "gate"),
}
#: Fields that must be JSON strings (a divergence without them is ``missing_fields``).
_STRICT: Final = ("signature", "call_id", "op", "kind")


def _typed(field: Field, slot: int) -> str:
    """The SQL of one typed field from ``x``, the list ``json_extract_string`` returned.

    ``json_extract_string`` renders a non-string value as its JSON text (``5``, ``true``,
    ``{...}``).  For the fields whose type matters, a value that could be such a text is
    checked with ``json_type`` (a second parse of that one line, which is rare).
    """
    raw = f"x[{slot}]"
    path = quote(field.path)
    if field.column in _STRICT:
        return (
            f"CASE WHEN shadow_maybe_literal({raw}) AND json_type(line, {path}) <> 'VARCHAR' "
            f"THEN NULL ELSE {raw} END"
        )
    if field.column in _KNOWN_VALUES:
        known = ", ".join(quote(v) for v in _KNOWN_VALUES[field.column])
        return (
            f"CASE WHEN {raw} IS NULL OR {raw} IN ({known}) THEN {raw} "
            f"WHEN json_type(line, {path}) = 'VARCHAR' THEN {raw} END"
        )
    if field.kind == "str":
        return raw
    if field.kind == "num":
        return f"TRY_CAST({raw} AS DOUBLE)"
    if field.kind == "int":
        return f"CASE WHEN NOT regexp_matches({raw}, '[.eE]') THEN TRY_CAST({raw} AS BIGINT) END"
    if field.kind == "ts":
        return f"shadow_ts({raw})"
    if field.kind == "size":
        return f"strlen({raw})"
    raise ValueError(field.kind)


def classified_sql(source: str, marker: str, *, fields: Sequence[str], trusted: bool) -> str:
    """Each line of ``source`` with its ``status`` and typed fields (``v_<column>``).

    ``status`` is ``event`` (a ``shadow.event/1`` object; a divergence has its required
    fields), a skip reason, or ``python`` for a line DuckDB could not parse (the caller
    decides its fate in Python; with ``trusted``, such a line is ``not_json``).
    """
    chosen = [_BY_NAME[name] for name in fields]
    paths = ", ".join(quote(f.path) for f in chosen)
    slot = {f.column: i + 1 for i, f in enumerate(chosen)}
    typed = ",\n               ".join(
        f"{_typed(f, slot[f.column])} AS v_{f.column}"
        + (f", x[{slot[f.column]}] AS v_{f.column}_text" if f.kind in ("ts", "num") else "")
        for f in chosen
    )
    marker_sql = "chr(0) || " + quote(marker[1:])
    unparsed = "'not_json'" if trusted else "'python'"
    known_schemas = ", ".join(quote(s) for s in sorted(KNOWN_SCHEMAS))
    required = " OR ".join(f"v_{name} IS NULL" for name in _STRICT if name in slot)
    missing = (
        f"WHEN v_event = 'divergence' AND ({required}) THEN 'missing_fields'" if required else ""
    )
    return f"""
        SELECT f, line_no, line,
               CASE
                 WHEN starts_with(line, {marker_sql}) THEN substr(line, {len(marker) + 1})
                 WHEN x IS NULL THEN
                   CASE WHEN line IS NULL OR trim(line, {_WS}) = '' THEN 'blank'
                        ELSE {unparsed} END
                 WHEN NOT starts_with(line, '{{') AND NOT starts_with(ltrim(line, {_WS}), '{{')
                   THEN 'not_object'
                 WHEN v_schema IS NULL OR NOT starts_with(v_schema, 'shadow.event/')
                   THEN 'foreign'
                 WHEN v_schema NOT IN ({known_schemas}) THEN 'unknown_schema'
                 {missing}
                 ELSE 'event'
               END AS status,
               * EXCLUDE (f, line_no, line, x)
        FROM (
          SELECT f, line_no, line, x,
               {typed}
          FROM (SELECT f, line_no, line, try(json_extract_string(line, [{paths}])) AS x
                FROM ({source}))
        )
    """


#: What ``read_json`` reads of each line for a review (every other key is skipped unparsed
#: into values).  Strings are read as VARCHAR: a non-string value becomes its JSON text, as
#: ``json_extract_string`` renders it; see :func:`json_classified_sql` for the fields whose
#: type matters.  ``input`` is JSON text: its length is the size of the inline input.
_SIDE: Final = "STRUCT(name VARCHAR, version VARCHAR, duration_s VARCHAR, summary VARCHAR)"
JSON_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("schema", "VARCHAR"),
    ("event", "VARCHAR"),
    ("ts", "VARCHAR"),
    ("signature", "VARCHAR"),
    ("call_id", "VARCHAR"),
    ("op", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("severity", "VARCHAR"),
    ("source", "VARCHAR"),
    ("primary", _SIDE),
    ("shadow", _SIDE),
    ("input", "JSON"),
    ("input_ref", "VARCHAR"),
)


def read_json_sql(files: Sequence[tuple[int, str]], max_line_bytes: int) -> str:
    """The rows DuckDB reads from each log, as ``(f, line_no, <columns>)``.

    ``line_no`` is the row's ordinal in its file: ``read_json`` gives no row for a blank
    line, so it is the line number only in a file without blank lines (the caller maps it
    back).  A line it cannot read (not JSON, not UTF-8, a torn line) is a row of NULLs.
    ``records = true`` is explicit: auto-detection would switch to reading whole values as
    soon as one line is not an object.
    """
    columns = "{" + ", ".join(f"{quote(name)}: {quote(kind)}" for name, kind in JSON_COLUMNS) + "}"
    names = ", ".join(f'"{name}"' for name, _ in JSON_COLUMNS)
    return " UNION ALL ".join(
        f"""
        SELECT {index}::INTEGER AS f, ordinality::BIGINT AS line_no, {names}
        FROM read_json({quote(path)}, format = 'newline_delimited', records = true,
                       ignore_errors = true, compression = 'none', columns = {columns},
                       maximum_object_size = {max_line_bytes + 1024}) WITH ORDINALITY
        """
        for index, path in files
    )


def json_classified_sql(source: str) -> str:
    """The rows of :func:`read_json_sql` with the ``status`` and ``v_*`` columns of
    :func:`classified_sql`, without parsing a line a second time.

    ``status`` is ``python`` for a row of NULLs (the line is not a JSON object with a
    ``schema``: Python reads it again and decides), and ``verify`` for the rare divergence
    whose VARCHAR values cannot say whether they were JSON strings: a required field, or an
    unknown severity or source, that reads like a JSON literal (``12345``, ``true``, ``{...}``).
    Those lines are classified again from their text by :func:`classified_sql`, so every rule
    is the line-level engine's.  Every check here is a ``CASE`` that looks further only at
    the rows a cheap first test selects: most rows cost a few byte comparisons.
    """
    known_schemas = ", ".join(quote(s) for s in sorted(KNOWN_SCHEMAS))
    literal = [f"shadow_literal({name})" for name in _STRICT]
    for name, values in _KNOWN_VALUES.items():
        known = ", ".join(quote(v) for v in values)
        literal.append(f"(NOT {name} IN ({known}) AND shadow_literal({name}))")
    maybe = " OR ".join(f"shadow_maybe_literal({name})" for name in (*_STRICT, *_KNOWN_VALUES))
    missing = " OR ".join(f"{n} IS NULL" for n in _STRICT)
    side = []
    for name in ("primary", "shadow"):
        for part in ("name", "version", "summary"):
            side.append(f'"{name}".{part} AS v_{name}_{part}')
        side.append(f'TRY_CAST("{name}".duration_s AS DOUBLE) AS v_{name}_duration_s')
        side.append(f'"{name}".duration_s AS v_{name}_duration_s_text')
    sides = ",\n               ".join(side)
    return f"""
        SELECT f, line_no, NULL::VARCHAR AS line,
               CASE
                 WHEN schema IS NULL THEN 'python'
                 WHEN schema IN ({known_schemas}) THEN
                   CASE
                     WHEN event IS DISTINCT FROM 'divergence' THEN 'event'
                     WHEN ({maybe}) AND coalesce({" OR ".join(literal)}, false) THEN 'verify'
                     WHEN {missing} THEN 'missing_fields'
                     ELSE 'event'
                   END
                 WHEN starts_with(schema, 'shadow.event/') THEN 'unknown_schema'
                 ELSE 'foreign'
               END AS status,
               schema AS v_schema, event AS v_event, signature AS v_signature,
               call_id AS v_call_id, op AS v_op, kind AS v_kind, severity AS v_severity,
               source AS v_source, shadow_ts(ts) AS v_ts, ts AS v_ts_text,
               strlen(input) AS v_input_size, input_ref AS v_input_ref,
               {sides}
        FROM ({source})
    """


#: The sets of the review aggregation: name -> key columns, and the aggregates each needs
#: (``n`` is always counted).  The sets are the ``GROUPING SETS`` of one aggregation over one
#: scan of the lines, each about its own rows, into one table of rows told apart by ``g``.
SETS: Final[tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]] = (
    ("status", ("st", "s_f"), ()),
    ("problems", ("p_ts", "p_sev", "p_pd", "p_sd"), ()),
    (
        "detail",
        (
            *("a_sig", "a_sev", "a_op", "a_kind", "a_src", "a_pn", "a_pv", "a_sn", "a_sv"),
            *("b_psum", "b_ssum", "b_key"),
        ),
        ("ts_min", "ts_max", "best", "first"),
    ),
    ("timeline", ("c_sec", "c_op"), ()),
    ("minutes", ("m_min", "m_op"), ("mask",)),
    ("durations", ("d_op", "d_pb", "d_sb"), ()),
    ("lines", ("l_kind", "l_f", "l_ln", "l_line"), ()),
    ("blob", ("r_sig", "r_f", "r_ref"), ("first",)),
    ("anchors", ("x_f", "x_call"), ("first",)),
)
SET_NAMES: Final[tuple[str, ...]] = tuple(name for name, _, _ in SETS)
KEY_COLUMNS: Final[tuple[str, ...]] = tuple(c for _, cols, _ in SETS for c in cols)
#: Aggregate columns: how each is computed, how the rows of one key merge (every reader of
#: the table merges them so: the lane's rows are appended to the main pass's), and its type.
_AGGREGATES: Final[tuple[tuple[str, str, str, str], ...]] = (
    ("n", "count(*)::BIGINT", "sum(n)::BIGINT", "BIGINT"),
    ("ts_min", "min(ts_us)", "min(ts_min)", "BIGINT"),
    ("ts_max", "max(ts_us)", "max(ts_max)", "BIGINT"),
    ("best", "min(best)", "min(best)", "HUGEINT"),
    ("first", "min(first)", "min(first)", "BIGINT"),
    ("mask", "bit_or(mask)", "bit_or(mask)", "UBIGINT"),
)
#: ``best`` packs (input size, file, line) and ``first`` (file, line) into one integer each,
#: so that a plain ``min`` picks the smallest input, ties going to the first line read.
FILE_SHIFT: Final = 40
SIZE_SHIFT: Final = 64


def set_masks() -> dict[str, int]:
    """The ``g`` value of each set."""
    return {name: i for i, name in enumerate(SET_NAMES)}


def unpack_first(value: int) -> tuple[int, int]:
    return value >> FILE_SHIFT, value & ((1 << FILE_SHIFT) - 1)


def unpack_best(value: int) -> tuple[int, int, int]:
    f, ln = unpack_first(value & ((1 << SIZE_SHIFT) - 1))
    return value >> SIZE_SHIFT, f, ln


_KEY_TYPES: Final[dict[str, str]] = {
    "b_key": "UBIGINT",
    "c_sec": "BIGINT",
    "m_min": "BIGINT",
    "d_pb": "INTEGER",
    "d_sb": "INTEGER",
    "l_f": "INTEGER",
    "l_ln": "BIGINT",
    "r_f": "INTEGER",
    "s_f": "INTEGER",
    "x_f": "INTEGER",
}


#: When a ``GROUPING SETS`` row belongs to its set: every set's keys are computed on every
#: row, NULL on the rows the set is not about, and those rows make one group of NULL keys
#: (the condition says which), dropped.  A kept group always has this key non-NULL.
_PRESENT: Final[dict[str, str]] = {
    "status": "true",
    "problems": "coalesce(p_ts, p_sev, p_pd, p_sd) IS NOT NULL",
    "detail": "a_sig IS NOT NULL",
    "timeline": "c_sec IS NOT NULL",
    "minutes": "m_min IS NOT NULL",
    "durations": "d_op IS NOT NULL",
    "lines": "l_kind IS NOT NULL",
    "blob": "r_sig IS NOT NULL",
    "anchors": "x_call IS NOT NULL",
}

# The sets the main pass counts: all but the anchors, which only a blank-line search needs.
_MAIN_SETS: tuple[str, ...] = tuple(name for name in SET_NAMES if name != "anchors")


def message_key_sql(primary: str, shadow: str) -> str:
    """The key telling messages apart: both summaries with every run of digits masked.

    One regular-expression call for both: digits never match the NUL between them.
    """
    return (
        f"hash(regexp_replace(coalesce({primary}, '') || chr(0) || coalesce({shadow}, ''), "
        "'[0-9]+', '#', 'g'))"
    )


def _set_keys(raw_messages: bool) -> dict[str, str]:
    """The key columns of each set, computed on every row (NULL where the set does not
    count it; see :data:`_PRESENT`).  A key whose set is marked by another key's NULL is
    left as it is: its values then only split the dropped group."""
    known_events = " ".join(
        f"WHEN {quote(e)} THEN {quote('event:' + e)}" for e in sorted(KNOWN_EVENTS)
    )
    known_sev = ", ".join(quote(v) for v in _KNOWN_VALUES["severity"])
    k = DURATION_BUCKETS_PER_E
    in_range = f"ts_us >= {TIMELINE_MIN_US} AND ts_us < {TIMELINE_END_US}"
    problem_pd = (
        "(v_primary_duration_s IS NULL AND v_primary_duration_s_text IS NOT NULL) "
        "OR (v_primary_duration_s IS NOT NULL AND pd IS NULL)"
    )
    problem_sd = problem_pd.replace("primary", "shadow").replace("pd IS NULL", "sd IS NULL")
    problem = (
        f"is_div AND (ts_us IS NULL OR NOT ({in_range}) OR v_severity IS NULL "
        f"OR v_severity NOT IN ({known_sev}) OR {problem_pd} OR {problem_sd})"
    )
    if raw_messages:
        messages = "v_primary_summary AS b_psum, v_shadow_summary AS b_ssum, NULL::UBIGINT AS b_key"
    else:
        key = message_key_sql("v_primary_summary", "v_shadow_summary")
        messages = (
            f"NULL::VARCHAR AS b_psum, NULL::VARCHAR AS b_ssum, "
            f"CASE WHEN is_div THEN {key} END AS b_key"
        )
    return {
        "status": f"""
            CASE WHEN status = 'event' THEN CASE v_event {known_events} ELSE 'unknown_event' END
                 ELSE status END AS st,
            f AS s_f""",
        "problems": f"""
            CASE WHEN {problem} THEN
              CASE WHEN v_ts_text IS NULL THEN 'missing'
                   WHEN ts_us IS NULL THEN 'unparsable'
                   WHEN NOT ({in_range}) THEN 'outside 1970-2199 (left out of the timeline)'
              END END AS p_ts,
            CASE WHEN {problem} THEN
              CASE WHEN v_severity IS NULL THEN 'missing or not a string'
                   WHEN v_severity NOT IN ({known_sev}) THEN 'unknown value (ranks below info)'
              END END AS p_sev,
            CASE WHEN is_div AND ({problem_pd}) THEN
              CASE WHEN v_primary_duration_s IS NULL THEN 'not a number'
                   WHEN pd IS NULL THEN 'not a finite non-negative number' END END AS p_pd,
            CASE WHEN is_div AND ({problem_sd}) THEN
              CASE WHEN v_shadow_duration_s IS NULL THEN 'not a number'
                   WHEN sd IS NULL THEN 'not a finite non-negative number' END END AS p_sd""",
        "detail": f"""
            CASE WHEN is_div THEN v_signature END AS a_sig,
            coalesce(v_severity, 'unknown') AS a_sev, v_op AS a_op, v_kind AS a_kind,
            coalesce(v_source, 'runtime') AS a_src, v_primary_name AS a_pn,
            v_primary_version AS a_pv, v_shadow_name AS a_sn, v_shadow_version AS a_sv,
            {messages}""",
        "timeline": f"CASE WHEN {in_range} THEN ts_us // 1000000 END AS c_sec, v_op AS c_op",
        "minutes": f"CASE WHEN {in_range} THEN ts_us // 60000000 END AS m_min, v_op AS m_op",
        "durations": f"""
            CASE WHEN pd IS NOT NULL OR sd IS NOT NULL THEN v_op END AS d_op,
            CASE WHEN pd > 0 THEN CAST(round(ln(pd) * {k}) AS INTEGER)
                 WHEN pd = 0 THEN {ZERO_DURATION_BUCKET} END AS d_pb,
            CASE WHEN sd > 0 THEN CAST(round(ln(sd) * {k}) AS INTEGER)
                 WHEN sd = 0 THEN {ZERO_DURATION_BUCKET} END AS d_sb""",
        "lines": """
            CASE WHEN status IN ('python', 'verify') THEN status
                 WHEN status = 'event' AND v_event = 'run_summary' THEN 'run_summary'
            END AS l_kind,
            CASE WHEN l_kind IS NOT NULL THEN f END AS l_f,
            CASE WHEN l_kind IS NOT NULL THEN line_no END AS l_ln,
            CASE WHEN l_kind IS NOT NULL THEN line END AS l_line""",
        "blob": """
            CASE WHEN is_div AND v_input_size IS NULL AND v_input_ref IS NOT NULL
                 THEN v_signature END AS r_sig,
            f AS r_f,
            CASE WHEN r_sig IS NOT NULL THEN v_input_ref END AS r_ref""",
        "anchors": """
            CASE WHEN is_anchor THEN v_call_id END AS x_call,
            CASE WHEN is_anchor THEN f END AS x_f""",
    }


#: Each aggregate over the rows of a group (the set's own rows: see :data:`_PRESENT`).
_AGGREGATE_EXPR: Final[dict[str, str]] = {col: expr for col, expr, _, _ in _AGGREGATES}


def aggregate_sql(
    table: str,
    classified: str,
    sets: Sequence[str] = _MAIN_SETS,
    *,
    raw_messages: bool = True,
) -> str:
    """One pass over the classified lines into a small table of set rows (see :data:`SETS`).

    Every aggregate is a native, mergeable ``count``/``min``/``max``/``bit_or``, so the lane's
    lines are aggregated the same way and their rows appended (readers re-aggregate by key).

    The sets are the ``GROUPING SETS`` of one aggregation: each row's keys for every set
    are computed once, in one projection, and DuckDB feeds each set's hash table from it.
    That is much cheaper than a ``UNION ALL`` of one ``GROUP BY`` per set (each its own
    projection and filter over a shared scan).  A set's key is NULL on the rows it is not
    about, so those rows fall into one dropped group (:data:`_PRESENT`); the aggregates a
    set does not use are computed for every set and NULLed in the result, which costs
    less than it would save to avoid.

    The ``detail`` set is one row per combination of group, severity, op, kind, source,
    implementations and message, from which the caller derives both the groups and their
    messages.  With ``raw_messages`` it keeps the two summaries as they are and leaves the
    masking of digits to the caller, on the few distinct rows (cheap when a log repeats
    its summaries); else it masks them on every line (:func:`message_key_sql`), which
    bounds the set when every call's summary differs.
    """
    in_range = f"ts_us >= {TIMELINE_MIN_US} AND ts_us < {TIMELINE_END_US}"
    keys = _set_keys(raw_messages)
    chosen = [(g, name, cols, aggs) for g, (name, cols, aggs) in enumerate(SETS) if name in sets]
    grouped = [c for _, _, cols, _ in chosen for c in cols]
    # GROUPING(...) has a bit per listed column, the first one highest, set when the
    # row's grouping set does not group by that column: one distinct value per set.
    ids = {
        g: sum(1 << (len(grouped) - 1 - i) for i, c in enumerate(grouped) if c not in cols)
        for g, _, cols, _ in chosen
    }
    which = " ".join(f"WHEN {ids[g]} THEN {g}" for g, _, _, _ in chosen)
    kept = " OR ".join(f"(gid = {ids[g]} AND {_PRESENT[name]})" for g, name, _, _ in chosen)
    columns = [
        c if c in grouped else f"NULL::{_KEY_TYPES.get(c, 'VARCHAR')} AS {c}" for c in KEY_COLUMNS
    ]
    values = []
    for col, _, _, kind in _AGGREGATES:
        users = [str(g) for g, _, _, aggs in chosen if col == "n" or col in aggs]
        if col == "n":
            values.append("n")
        elif users:
            values.append(f"CASE WHEN g IN ({', '.join(users)}) THEN {col} END AS {col}")
        else:
            values.append(f"NULL::{kind} AS {col}")
    computed = ", ".join(f"{_AGGREGATE_EXPR[col]} AS {col}" for col, _, _, _ in _AGGREGATES)
    anchor = (
        ", is_div AND EXISTS (SELECT 1 FROM shadow_anchors a "
        "WHERE a.f = b.f AND a.call_id = b.v_call_id) AS is_anchor"
        if "anchors" in sets
        else ""
    )
    group_sets = ", ".join("(" + ", ".join(cols) + ")" for _, _, cols, _ in chosen)
    return f"""
    CREATE OR REPLACE TEMP TABLE {table} AS
    WITH agg AS (
      SELECT GROUPING({", ".join(grouped)}) AS gid, {", ".join(grouped)}, {computed}
      FROM (
        SELECT {", ".join(keys[name] for _, name, _, _ in chosen)},
               ts_us,
               CASE WHEN is_div AND (v_input_size IS NOT NULL OR v_input_ref IS NULL) THEN
                   (coalesce(v_input_size, {NO_INPUT})::HUGEINT << {SIZE_SHIFT})
                   + (f::HUGEINT << {FILE_SHIFT}) + line_no END AS best,
               (f::BIGINT << {FILE_SHIFT}) + line_no AS first,
               CASE WHEN {in_range} THEN 1::UBIGINT << ((ts_us // 1000000) % 60)::INTEGER
               END AS mask
        FROM (
          SELECT *,
            CASE WHEN is_div AND isfinite(v_primary_duration_s) AND v_primary_duration_s >= 0
                 THEN v_primary_duration_s END AS pd,
            CASE WHEN is_div AND isfinite(v_shadow_duration_s) AND v_shadow_duration_s >= 0
                 THEN v_shadow_duration_s END AS sd
            {anchor}
          FROM (
            SELECT *, CASE WHEN is_div AND isfinite(v_ts) THEN epoch_us(v_ts) END AS ts_us
            FROM (
              SELECT *, coalesce(status = 'event' AND v_event = 'divergence', false) AS is_div
              FROM ({classified})
            )
          ) b
        )
      )
      GROUP BY GROUPING SETS ({group_sets})
    )
    SELECT g, {", ".join(columns)}, {", ".join(values)}
    FROM (SELECT CASE gid {which} END AS g, * FROM agg WHERE {kept})
    """
