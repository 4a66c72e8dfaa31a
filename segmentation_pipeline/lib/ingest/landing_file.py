"""A landing file as a whole, before and beside its parse: existence, header and columns,
and its fingerprint (SHA-256 and a count of its lines, taken apart from the CSV parser)."""

from __future__ import annotations

import csv
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import duckdb

from segmentation_pipeline.settings import SOURCE_COLUMNS


class LandingFileError(ValueError):
    """A landing file that cannot be read as a whole; the message says which file and what to do."""

    def __init__(self, path: Path, problem: str, remedy: str) -> None:
        super().__init__(f"{path}: {problem}. {remedy}")
        self.path = path
        self.problem = problem


def read_header(path: Path) -> list[str]:
    """The header names, after the file-level checks that need no parsing of the data."""
    if not path.exists():
        raise LandingFileError(path, "the file does not exist", "Land it, or skip the day.")
    with path.open("rb") as handle:
        head = handle.read(65536)  # the header only: never the whole file in memory
    if not head.strip():
        raise LandingFileError(
            path, "the file is empty (no header row)", "Re-export it with its header and rows."
        )
    if b"\x00" in head:
        raise LandingFileError(
            path, "the file is binary, not CSV text", "Land the CSV export, not a compressed file."
        )
    first_line = head.decode("utf-8-sig", errors="replace").splitlines()[0]
    # The csv module splits it with the quoting rules of the engine's parse (double quotes, ""
    # inside quotes); a space after a comma may precede a quote.
    (header,) = csv.reader([first_line], skipinitialspace=True)
    return [name.strip() for name in header]


def source_column_positions(path: Path, header: list[str]) -> dict[str, int]:
    """Where each contract column is in `header`. Names match whatever their case (an export
    that lowercases its header holds the same columns; the engine's SQL binds names the same
    way), so a name that appears twice in different cases is ambiguous: an error."""
    positions: dict[str, int] = {}
    for column in SOURCE_COLUMNS:
        found = [index for index, name in enumerate(header) if name.casefold() == column.casefold()]
        if len(found) > 1:
            raise LandingFileError(
                path,
                f"column {column} appears {len(found)} times in the header "
                f"({', '.join(header[index] for index in found)})",
                "Keep one of them.",
            )
        if found:
            positions[column] = found[0]
    return positions


def check_columns(path: Path, header: list[str]) -> list[str]:
    """Fail on missing columns (naming a likely wrong delimiter); return the ignored extras."""
    positions = source_column_positions(path, header)
    missing = [column for column in SOURCE_COLUMNS if column not in positions]
    if missing:
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            raise LandingFileError(
                path,
                f"the header is not comma-separated ({header[0][:60]!r})",
                "Re-export the file with ',' as the delimiter.",
            )
        raise LandingFileError(
            path,
            f"required columns are missing: {', '.join(missing)} (found: {', '.join(header)})",
            "Land a file with the 10 Black Friday columns named as in the published dataset.",
        )
    return ignored_columns(header, positions)


def ignored_columns(header: list[str], positions: dict[str, int]) -> list[str]:
    """The header's names that are not contract columns; an empty name (e.g. left by a trailing
    comma) is said by its position, not as ''."""
    used = set(positions.values())
    return [
        name or f"(unnamed column {index + 1})"
        for index, name in enumerate(header)
        if index not in used
    ]


# A non-blank line: from its first non-whitespace byte to the end of the line (one match each).
NON_BLANK_LINE = re.compile(rb"[^\s][^\n]*")
# A blank line after a newline (whitespace only up to the next newline). The leading literal
# lets the regex engine jump from newline to newline: 6x faster than matching every line.
BLANK_LINE_AFTER_NEWLINE = re.compile(rb"\n[ \t\r\f\v]*(?=\n)")
FINGERPRINT_CHUNK_BYTES = 16 * 1024 * 1024


class Fingerprint(NamedTuple):
    """A file's identity and its lines, counted apart from the parser."""

    sha256: str
    data_lines: int  # non-blank lines after the header
    # No blank line and no carriage return outside a CRLF pair: the parser makes exactly one
    # row of each line (it splits a line at a lone CR and may make a row of a line of spaces).
    plain: bool


def _blank_lines(block: bytes) -> int:
    """Lines of `block` (each ending with a newline) that hold only whitespace."""
    first_line = block[: block.index(b"\n")]
    return len(BLANK_LINE_AFTER_NEWLINE.findall(block)) + (not first_line.strip())


def file_fingerprint(path: Path) -> Fingerprint:
    """SHA-256 of the file, its count of non-blank data lines and whether it is plain.

    One pass in fixed-size chunks (memory does not grow with the file); a line cut by a chunk
    boundary is carried over to the next chunk so it is counted once.
    """
    digest = hashlib.sha256()
    lines = blank = lone_carriage_returns = 0
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(FINGERPRINT_CHUNK_BYTES):
            digest.update(chunk)
            complete_end = chunk.rfind(b"\n") + 1  # 0: no line ends in this chunk
            if complete_end:
                block = carry + chunk[:complete_end]
                lines += block.count(b"\n")
                blank += _blank_lines(block)
                lone_carriage_returns += block.count(b"\r") - block.count(b"\r\n")
                carry = chunk[complete_end:]
            else:
                carry += chunk
    non_blank = lines - blank + NON_BLANK_LINE.subn(b"", carry)[1]
    last_line_plain = b"\r" not in carry and carry == carry.strip()  # it has no newline
    plain = not blank and not lone_carriage_returns and last_line_plain
    return Fingerprint(digest.hexdigest(), max(non_blank - 1, 0), plain)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file alone: its identity, as the ledger records it on load."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_sha256(files: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of each file (by key), hashed side by side: hashlib releases the GIL."""
    with ThreadPoolExecutor() as pool:
        return dict(zip(files, pool.map(file_sha256, files.values()), strict=True))


def parse_error(path: Path, error: duckdb.Error, header: list[str]) -> LandingFileError:
    message = str(error)
    where = message.splitlines()[0]
    # DuckDB's own words for bytes that are not UTF-8; its other errors suggest an encoding
    # among their possible fixes too, so "utf-8" alone says nothing.
    if "invalid unicode" in message.lower():
        return LandingFileError(
            path,
            f"the file is not valid UTF-8 text ({where})",
            "Re-export it encoded as UTF-8.",
        )
    line = re.search(r"CSV Error on Line: (\d+)", message)
    if line and "unterminated quote" in message:
        where = f"line {line[1]}: a quote is never closed, or text follows a closing quote"
    elif line and (fields := re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)):
        # DuckDB counts the read's spare columns too (`loader.BEYOND_HEADER`), and stops
        # counting one field past them: what it found is a lower bound.
        where = f"line {line[1]} has {fields[2]} or more fields, the header {len(header)}"
    elif "state machine reached an invalid state" in message:
        where = "its parser stopped in an invalid state: a carriage return alone in a line?"
    return LandingFileError(
        path, f"the file cannot be parsed as CSV ({where})", "Fix or re-export the file."
    )
