"""Byte-level pre-scan of a log: line count, block index, and a copy only where needed.

Why: DuckDB reads a log fast and in parallel, but Python must still know a few things about
the file's physical lines: how many there are (every line is counted, even the ones no
reader keeps), where blocks of lines start (to fetch a reproducing line again by its
number without a second full scan), whether the last line is complete, and which lines are
longer than the reader's limit.  Each of those costs a ``memchr``-speed pass over each block.

Two readers, two sets of rules:

* ``json`` (``shadow review``): DuckDB's ``read_json`` takes the file as it is (bad UTF-8,
  carriage returns and other junk become rows it cannot read, which the review then
  classifies in Python); only lines over :data:`MAX_LINE_BYTES` need a rewritten copy.
* ``lines`` (``shadow query``/``export``): ``read_csv`` reads each line as text, which needs
  valid UTF-8, lines split on ``\n`` alone (its reader also splits on ``\r``), no byte
  equal to its column delimiter and no byte-order mark; blocks that fail are rewritten line
  by line: a line it could not read is parsed here (:func:`shadow._review.resync.parse_line`)
  and written back as the JSON it holds (a torn line's kept suffix, ``\r`` turned to
  spaces) or as a marker line that names its skip reason.

Either way line numbers never change, so every count and every reported line number is the
same as a line-by-line reader's.  Gzip logs are always decompressed into such a copy: a
truncated stream keeps what could be decompressed, and the file is reported with its problem
instead of failing the review.
"""

from __future__ import annotations

import bisect
import mmap
import os
import re
import shutil
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson

from shadow._review.resync import OVERSIZED, TORN, parse_line
from shadow._review.timeline import parse_ts_us

#: Longest line read; the writer caps its lines far below this (big values go to blobs).
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
BLOCK_BYTES: Final = 1024 * 1024
#: Bytes of a log mapped at a time when looking for blank lines.
WINDOW_BYTES: Final = 8 * 1024 * 1024
#: DuckDB's column delimiter: a byte no JSON text holds raw, so lines with it are junk.
DELIMITER: Final = b"\x01"
GZIP_MAGIC: Final = b"\x1f\x8b"
_BOM: Final = b"\xef\xbb\xbf"
#: A ``\n`` followed by a blank line: bytes that ``bytes.strip()`` removes, then ``\n``.
#: DuckDB's ``read_json`` skips exactly these lines without a row (checked in the tests).
_BLANK_AFTER: Final = re.compile(rb"\n(?=[ \t\r\x0b\x0c]*\n)")

Reader = Literal["json", "lines"]


@dataclass(frozen=True, slots=True)
class PreparedLog:
    """One log after the pre-scan: what to read, how many lines, and where blocks start.

    ``checkpoints`` are ``(line number, byte offset in read_path)`` of block starts, so a
    line can be fetched again (the smallest reproducing input) without a second full scan.
    ``skipped`` holds the skip reasons counted here rather than in SQL (a torn prefix whose
    suffix was kept), ``problem`` a file-level problem such as a truncated gzip stream.
    """

    index: int
    path: Path
    read_path: Path | None  # None when the file holds no line at all
    lines: int
    complete: bool  # the last line ends with a newline (or the file is empty)
    rewritten: int
    skipped: tuple[tuple[str, int], ...]
    problem: str | None
    checkpoints: tuple[tuple[int, int], ...]
    markers: tuple[tuple[str, int], ...] = ()  # lines rewritten as skip markers, by reason
    reader: Reader = "lines"
    marks: tuple[tuple[int, int], ...] = ()  # (byte offset, line number) of noted line starts

    @property
    def copied(self) -> bool:
        return self.read_path is not None and self.read_path != self.path


def marker_prefix(nonce: str) -> bytes:
    """A line the pre-scan writes for a line it skipped: prefix + reason (NUL never in JSON)."""
    return b"\x00shadow-review-" + nonce.encode("ascii") + b":"


@dataclass(slots=True)
class _Scan:
    """State of one file's scan; switches to writing a copy at the first dirty block."""

    source: Path
    copy_path: Path
    marker: bytes
    strict: bool  # the "lines" reader's rules (see the module docstring), else "json"
    out: IO[bytes] | None = None
    line_no: int = 0
    offset: int = 0  # bytes of complete lines so far, in the copy (== source before a copy)
    carry: bytes = b""
    draining: bool = False  # discarding the rest of an oversized line
    rewritten: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    markers: Counter[str] = field(default_factory=Counter)
    checkpoints: list[tuple[int, int]] = field(default_factory=list)

    def start_copy(self) -> None:
        """Open the copy and fill it with the clean prefix already scanned in place."""
        if self.out is not None:
            return
        self.out = self.copy_path.open("wb")
        if self.offset:
            with self.source.open("rb") as src:
                _copy_prefix(src, self.out, self.offset)

    def feed(self, data: bytes) -> None:
        if self.draining:
            end = data.find(b"\n")
            if end == -1:
                return
            data = data[end + 1 :]
            self.draining = False
            if not data:
                return
        buf = self.carry + data if self.carry else data
        first = buf.find(b"\n")
        if first == -1:
            self.carry = buf
            if len(buf) > MAX_LINE_BYTES:
                self.carry = b""
                self.draining = True
                self._skipped_line(OVERSIZED)
            return
        cut = buf.rfind(b"\n") + 1
        self.carry = buf[cut:]
        self._checkpoint()
        if first <= MAX_LINE_BYTES and (
            not self.strict
            or (
                buf.find(b"\r", 0, cut) == -1
                and buf.find(DELIMITER, 0, cut) == -1
                and not (self.line_no == 0 and buf.startswith(_BOM))
                and (buf.isascii() or _is_utf8(buf, cut))
            )
        ):
            if self.out is not None:
                self.out.write(memoryview(buf)[:cut])
            self.line_no += buf.count(b"\n", 0, cut)
            self.offset += cut
            return
        self.start_copy()
        for raw in buf[:cut].split(b"\n")[:-1]:
            self._line(raw, complete=True)

    def finish(self) -> None:
        if self.draining or not self.carry:
            return
        raw, self.carry = self.carry, b""
        self._checkpoint()
        if _needs_python(raw, self.line_no == 0, self.strict):
            self.start_copy()
            self._line(raw, complete=False, newline=False)
            return
        if self.out is not None:
            self.out.write(raw)
        self.line_no += 1
        self.offset += len(raw)

    def _checkpoint(self) -> None:
        """Note that the next line starts at the current offset (of the file DuckDB reads)."""
        if not self.checkpoints or self.checkpoints[-1][0] != self.line_no + 1:
            self.checkpoints.append((self.line_no + 1, self.offset))

    def _skipped_line(self, reason: str) -> None:
        self.markers[reason] += 1
        self.start_copy()
        self._checkpoint()
        self._write(self.marker + reason.encode("ascii"))
        self.line_no += 1
        self.rewritten += 1

    def _write(self, text: bytes, newline: bool = True) -> None:
        assert self.out is not None
        self.out.write(text + b"\n" if newline else text)
        self.offset += len(text) + newline

    def _line(self, raw: bytes, *, complete: bool, newline: bool = True) -> None:
        if not _needs_python(raw, self.line_no == 0, self.strict):
            self._write(raw, newline)
            self.line_no += 1
            return
        if len(raw) > MAX_LINE_BYTES:
            self._skipped_line(OVERSIZED)
            return
        parsed = parse_line(raw, complete)
        self.line_no += 1
        self.rewritten += 1
        if parsed.text is None:
            self.markers[parsed.skipped[0]] += 1
            self._write(self.marker + parsed.skipped[0].encode("ascii"), newline)
            return
        if TORN in parsed.skipped:
            self.skipped[TORN] += 1
        # What parsed is JSON, so a CR in it can only be whitespace: a space means the same.
        self._write(parsed.text.replace(b"\r", b" "), newline)


def _needs_python(raw: bytes, first_line: bool, strict: bool) -> bool:
    if len(raw) > MAX_LINE_BYTES:
        return True
    if not strict:
        return False
    if b"\r" in raw or DELIMITER in raw:
        return True
    if first_line and raw.startswith(_BOM):
        return True
    if raw.isascii():
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _is_utf8(buf: bytes, end: int) -> bool:
    try:
        buf[:end].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _copy_prefix(src: IO[bytes], dst: IO[bytes], length: int) -> None:
    remaining = length
    while remaining:
        chunk = src.read(min(remaining, 16 * BLOCK_BYTES))
        if not chunk:
            break
        dst.write(chunk)
        remaining -= len(chunk)


def _block_bytes() -> int:
    """Blocks no longer than the line limit: a line over it then always spans a block
    boundary, so checking the first line of each block (with what was carried over) and
    the carried-over tail finds every oversized line."""
    return max(1, min(BLOCK_BYTES, MAX_LINE_BYTES))


def _plain_blocks(stream: IO[bytes]) -> Iterator[bytes]:
    size = _block_bytes()
    while True:
        data = stream.read(size)
        if not data:
            return
        yield data


class _Gunzip:
    """Decompress a gzip file block by block; a damaged or cut stream ends with a problem."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.problem: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        inflate = zlib.decompressobj(wbits=31)
        try:
            while True:
                chunk = self.stream.read(BLOCK_BYTES)
                if not chunk:
                    if not inflate.eof:
                        self.problem = "the gzip stream ends early (truncated file?)"
                    return
                while chunk:
                    out = inflate.decompress(chunk, _block_bytes())
                    if out:
                        yield out
                    if inflate.eof:
                        rest = inflate.unused_data
                        if not rest.strip(b"\x00"):
                            chunk = b""
                        else:  # another gzip member (concatenated archives)
                            inflate = zlib.decompressobj(wbits=31)
                            chunk = rest
                    else:
                        chunk = inflate.unconsumed_tail
        except zlib.error as exc:
            self.problem = f"not a valid gzip stream ({exc})"


class Prescanner:
    """Pre-scan logs into a scratch directory (the caller owns and removes it)."""

    def __init__(self, scratch: Path, nonce: str, reader: Reader = "lines") -> None:
        self.scratch = scratch
        self.marker = marker_prefix(nonce)
        self.reader: Reader = reader

    def prepare(self, path: Path, index: int, marks: Sequence[int] = ()) -> PreparedLog:
        """Scan one log; raises ``OSError`` when it cannot be opened or read.

        ``marks``: line starts whose numbers to note, for a log read in place (``json``).
        """
        if self.reader == "json":
            indexed = _index_in_place(path, index, marks)
            if indexed is not None:
                return indexed
        copy_path = self.scratch / f"log{index}.jsonl"
        scan = _Scan(path, copy_path, self.marker, strict=self.reader == "lines")
        problem = None
        with path.open("rb", buffering=0) as stream:
            gzipped = stream.read(2) == GZIP_MAGIC
            stream.seek(0)
            blocks: Iterable[bytes]
            if gzipped:
                scan.start_copy()
                gunzip = _Gunzip(stream)
                blocks = gunzip
            else:
                blocks = _plain_blocks(stream)
            try:
                for data in blocks:
                    scan.feed(data)
                scan.finish()
            finally:
                if scan.out is not None:
                    scan.out.close()
            if gzipped:
                problem = gunzip.problem
        complete = not scan.carry and not _ends_without_newline(scan, path)
        read_path = copy_path if scan.out is not None else path
        return PreparedLog(
            index=index,
            path=path,
            read_path=read_path if scan.line_no else None,
            lines=scan.line_no,
            complete=complete,
            rewritten=scan.rewritten,
            skipped=tuple(sorted(scan.skipped.items())),
            problem=problem,
            checkpoints=tuple(scan.checkpoints),
            markers=tuple(sorted(scan.markers.items())),
            reader=self.reader,
        )


def _index_in_place(path: Path, index: int, marks: Sequence[int] = ()) -> PreparedLog | None:
    """The ``json`` reader's scan of a plain log that DuckDB reads in place: line count and
    block checkpoints, in one pass over blocks read into one buffer, at ``memchr`` speed
    (lines are counted as the bytes a deletion of newlines removes: ``bytes.count`` is a
    plain loop, ``bytes.replace`` of one byte is ``memchr``-driven).

    None when the file is gzip or has a line over the limit: the general scan then writes
    the copy DuckDB reads.
    """
    limit = MAX_LINE_BYTES
    size = _block_bytes()
    buf = bytearray(size)
    line_no = offset = read = 0
    carry = b""
    checkpoints: list[tuple[int, int]] = []
    pending = sorted(marks, reverse=True)
    noted: list[tuple[int, int]] = []
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            while pending and pending[-1] < read + n:  # a line start in this block
                mark = pending.pop()
                if mark >= read:
                    noted.append((mark, line_no + 1 + buf.count(b"\n", 0, mark - read)))
            read += n
            if line_no == 0 and not carry and buf.startswith(GZIP_MAGIC):
                return None
            data = buf if n == size else buf[:n]
            first = data.find(b"\n")
            if first == -1:
                carry += data
                if len(carry) > limit:
                    return None
                continue
            if len(carry) + first > limit:
                return None
            checkpoints.append((line_no + 1, offset))
            last = data.rfind(b"\n")
            line_no += n - len(data.replace(b"\n", b""))
            offset += len(carry) + last + 1
            carry = bytes(data[last + 1 :])
    complete = not carry
    if carry:
        checkpoints.append((line_no + 1, offset))
        line_no += 1
    return PreparedLog(
        index=index,
        path=path,
        read_path=path if line_no else None,
        lines=line_no,
        complete=complete,
        rewritten=0,
        skipped=(),
        problem=None,
        checkpoints=tuple(checkpoints),
        reader="json",
        marks=tuple(noted),
    )


def _ends_without_newline(scan: _Scan, path: Path) -> bool:
    """True when the last line has no newline (read back from what DuckDB will read)."""
    target = scan.copy_path if scan.out is not None else path
    try:
        size = target.stat().st_size
        if size == 0:
            return False
        with target.open("rb") as fh:
            fh.seek(size - 1)
            return fh.read(1) != b"\n"
    except OSError:
        return False


def _blocks_of(log: PreparedLog, lines: Iterable[int]) -> dict[int, list[int]]:
    """The wanted line numbers grouped by the index of the checkpoint block holding them."""
    starts = [line for line, _ in log.checkpoints]
    blocks: dict[int, list[int]] = {}
    for target in sorted(set(lines)):
        k = bisect.bisect_right(starts, target) - 1
        if k >= 0 and 0 < target <= log.lines:
            blocks.setdefault(k, []).append(target)
    return blocks


def _read_block(fh: IO[bytes], log: PreparedLog, k: int) -> bytes:
    """The bytes of checkpoint block ``k``: whole lines (the last block may end without one)."""
    offset = log.checkpoints[k][1]
    fh.seek(offset)
    if k + 1 < len(log.checkpoints):
        return fh.read(log.checkpoints[k + 1][1] - offset)
    return fh.read()


def fetch_lines(log: PreparedLog, wanted: Iterable[int]) -> dict[int, bytes]:
    """Read the given line numbers of a prepared log back (without their newlines).

    Each block holding a wanted line is read once, so fetching many lines of one block (the
    lines DuckDB could not read, in a log full of junk) costs one read of that block.
    """
    found: dict[int, bytes] = {}
    if log.read_path is None:
        return found
    with log.read_path.open("rb") as fh:
        for k, targets in _blocks_of(log, wanted).items():
            data = _read_block(fh, log, k)
            line_no, pos = log.checkpoints[k][0], 0
            for target in targets:
                while line_no < target and pos != -1:
                    pos = data.find(b"\n", pos)
                    pos = pos if pos == -1 else pos + 1
                    line_no += 1
                if pos == -1 or pos > len(data):
                    break
                end = data.find(b"\n", pos)
                found[target] = data[pos:] if end == -1 else data[pos:end]
    return found


def blank_lines(
    log: PreparedLog, regions: Sequence[tuple[int, int, int]] | None = None
) -> list[int]:
    """Line numbers of the blank lines (empty or ``bytes.strip()`` whitespace only), sorted.

    DuckDB's ``read_json`` gives no row for these lines, so they are what maps its row
    ordinals back to line numbers.  A regular-expression pass over the file, or over the
    ``regions`` given as ``(number of its first line, begin, end)`` byte ranges of whole
    lines, mapped in memory a window at a time (no copy, only a window resident).
    """
    out: list[int] = []
    if log.read_path is None or not log.checkpoints:
        return out
    with log.read_path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        for first_line, begin, end in regions if regions is not None else [(1, 0, size)]:
            for line, lo, hi in _windows(log, first_line, begin, min(end, size)):
                out.extend(_blank_in(fh, line, lo, hi))
            if end >= size and not log.complete and size:  # the last line, without a newline
                fh.seek(log.checkpoints[-1][1])
                tail = fh.read()
                if not tail[tail.rfind(b"\n") + 1 :].strip():
                    out.append(log.lines)
    return sorted(set(out))


def _blank_in(fh: IO[bytes], first_line: int, begin: int, end: int) -> list[int]:
    """Blank lines among the whole lines in bytes ``begin:end`` (line ``first_line`` first)."""
    out = []
    base = begin - begin % mmap.ALLOCATIONGRANULARITY
    with mmap.mmap(fh.fileno(), end - base, offset=base, access=mmap.ACCESS_READ) as mm:
        lo, hi = begin - base, end - base
        head_end = mm.find(b"\n", lo, hi)
        if not mm[lo : hi if head_end == -1 else head_end].strip():
            out.append(first_line)
        at, counted = first_line, lo  # the line starting at byte `counted`
        for match in _BLANK_AFTER.finditer(mm, lo, hi):
            pos = match.start()
            at += mm[counted : pos + 1].count(b"\n")
            counted = pos + 1
            out.append(at)
    return out


def _windows(
    log: PreparedLog, first_line: int, begin: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """``(first line, begin, end)`` ranges of about :data:`WINDOW_BYTES` that split the
    range ``begin:end`` at checkpoints (line starts)."""
    points = [(first_line, begin)]
    points += [(line, offset) for line, offset in log.checkpoints if begin < offset < end]
    k = 0
    while k < len(points):
        line, lo = points[k]
        j = k + 1
        while j < len(points) and points[j][1] - lo < WINDOW_BYTES:
            j += 1
        hi = points[j][1] if j < len(points) else end
        if hi > lo:
            yield line, lo, hi
        k = j


ANCHOR_BYTES: Final = 16 * 1024 * 1024


def anchor_points(path: Path, every: int = ANCHOR_BYTES) -> tuple[tuple[int, str], ...]:
    """Divergence lines about every ``every`` bytes of a plain log: ``(offset, call id)``.

    Read before the main pass (a small read at each point).  DuckDB reports the row ordinal
    of each; with the line number the pre-scan notes at the same offset, that says how many
    blank lines come before it, so a search for blank lines reads only the stretches of the
    file where that number grows.
    """
    out: list[tuple[int, str]] = []
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            for at in range(every, size, every):
                fh.seek(at - 1)
                chunk = fh.read(64 * 1024)
                head = chunk.find(b"\n")
                tail = chunk.find(b"\n", head + 1) if head != -1 else -1
                if tail == -1:
                    continue
                event = _event(chunk[head + 1 : tail])
                call = event.get("call_id") if event is not None else None
                if (
                    event is not None
                    and event.get("event") == "divergence"
                    and isinstance(call, str)
                ):
                    out.append((at + head, call))
    except OSError:
        return ()
    return tuple(out)


def rows_to_lines(rows: Iterable[int], blanks: Sequence[int]) -> dict[int, int]:
    """Map row ordinals (1-based, blank lines skipped) to line numbers, given the blanks."""
    out: dict[int, int] = {}
    j = 0
    for k in sorted(set(rows)):
        while j < len(blanks) and blanks[j] <= k + j:
            j += 1
        out[k] = k + j
    return out


@dataclass(frozen=True, slots=True)
class EdgeSample:
    """What the first and last lines of a plain log say about it, read cheaply beforehand.

    ``first_us``/``last_us`` are the timestamps of its first and last events (None when
    not found): a guess at the time it spans (a log is written in time order).
    ``summaries`` are the (primary, shadow) summaries of the divergences seen: whether a log
    repeats its messages.  Both only choose how the main pass counts, never what it finds.
    """

    first_us: int | None
    last_us: int | None
    summaries: tuple[tuple[Any, Any], ...]


def sample_edges(path: Path, window: int = 64 * 1024) -> EdgeSample | None:
    """Read ``window`` bytes at each end of a plain log; None when it cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(window)
            size = fh.seek(0, os.SEEK_END)
            tail = b""
            if size > window:
                fh.seek(max(window, size - window))
                tail = fh.read(window)
    except OSError:
        return None
    head_lines = head.split(b"\n")
    if size > len(head):
        head_lines = head_lines[:-1]  # cut by the window
    tail_lines = tail.split(b"\n")[1:] if tail else []
    head_events = [e for e in map(_event, head_lines) if e is not None]
    tail_events = [e for e in map(_event, tail_lines) if e is not None]
    stamps = [_ts(e) for e in head_events], [_ts(e) for e in reversed(tail_events or head_events)]
    first = next((us for us in stamps[0] if us is not None), None)
    last = next((us for us in stamps[1] if us is not None), None)
    summaries = tuple(
        (_summary(e, "primary"), _summary(e, "shadow"))
        for e in (*head_events, *tail_events)
        if e.get("event") == "divergence"
    )
    return EdgeSample(first, last, summaries)


def _event(raw: bytes) -> dict[str, Any] | None:
    if not raw.startswith(b"{"):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _ts(event: dict[str, Any]) -> int | None:
    ts = event.get("ts")
    return parse_ts_us(ts) if isinstance(ts, str) else None


def _summary(event: dict[str, Any], side: str) -> Any:
    info = event.get(side)
    return info.get("summary") if isinstance(info, dict) else None


def remove_scratch(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


def _memory_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def scratch_dir(sizes: Iterable[int] = ()) -> Path:
    """A private scratch folder: in RAM (``/dev/shm``) when the logs fit comfortably, so a
    rewritten copy costs a memory copy, not a disk write; else under ``$TMPDIR``.
    ``SHADOW_REVIEW_TMPDIR`` chooses the folder explicitly."""
    import tempfile

    base = os.environ.get("SHADOW_REVIEW_TMPDIR")
    fits = sum(sizes) * 4 < _memory_available()
    if base is None and fits and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix="shadow-review-", dir=base))
