"""Load one landing file into the warehouse: stage as text, tag broken rows, insert the rest.

Every data line of a file ends up in exactly one of `raw.transactions` (valid rows, typed) or
`raw.rejected_transactions` (original text, line number and every reason), so nothing is lost.
"""

from __future__ import annotations

import csv
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segmentation_pipeline.lib.ingest.contract import (
    ALLOWED_VALUES,
    INTEGER_RANGES,
    PRODUCT_ID_PATTERN,
    RAW_COLUMN_TYPES,
)
from segmentation_pipeline.settings import SOURCE_COLUMNS

RAW_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.transactions ("
    + ", ".join(f"{column} {kind} NOT NULL" for column, kind in RAW_COLUMN_TYPES.items())
    + ", transaction_date DATE NOT NULL)"
)
LOADS_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.landing_loads (transaction_date DATE NOT NULL, "
    "source_file VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, data_lines BIGINT NOT NULL, "
    "rows_loaded BIGINT NOT NULL, rows_rejected BIGINT NOT NULL, ignored_columns VARCHAR[], "
    "loaded_at TIMESTAMP NOT NULL)"
)
REJECTED_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.rejected_transactions ("
    "transaction_date DATE NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT NOT NULL, "
    + ", ".join(f"{column} VARCHAR" for column in SOURCE_COLUMNS)
    + ", reasons VARCHAR[] NOT NULL, rejected_at TIMESTAMP NOT NULL)"
)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in (RAW_TABLE_DDL, REJECTED_TABLE_DDL, LOADS_TABLE_DDL):
        con.execute(ddl)


class LandingFileError(ValueError):
    """A landing file that cannot be read as a whole; the message says which file and what to do."""

    def __init__(self, path: Path, problem: str, remedy: str) -> None:
        super().__init__(f"{path}: {problem}. {remedy}")
        self.path = path
        self.problem = problem


@dataclass
class FileLoad:
    """What happened to one landing file."""

    day: str
    path: Path
    file_sha256: str
    data_lines: int
    rows_loaded: int
    rows_rejected: int
    rejection_reasons: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected_share(self) -> float:
        return self.rows_rejected / self.data_lines if self.data_lines else 0.0


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Each source column is trimmed once (`<column>__text`) and, if an integer column, parsed once
# (`<column>__int`); the rules and the typed insert read those instead of trimming again.
TEXT_SUFFIX = "__text"
INTEGER_SUFFIX = "__int"
# The original text of a rejected row's columns (NULL on valid rows), for the quarantine.
SOURCE_SUFFIX = "__source"


def _cleaned_columns() -> str:
    trimmed = [f"trim({column}) AS {column}{TEXT_SUFFIX}" for column in SOURCE_COLUMNS]
    # Digits only: a bare cast would accept "12.5" or "1e3" (rounded to 13 and 1000).
    parsed = [
        f"CASE WHEN regexp_full_match(trim({column}), '[+-]?[0-9]+') "
        f"THEN TRY_CAST(trim({column}) AS BIGINT) END AS {column}{INTEGER_SUFFIX}"
        for column in INTEGER_RANGES
    ]
    return ", ".join(trimmed + parsed)


def _reason_expressions() -> list[str]:
    """One SQL expression per contract rule: the reason text when the row breaks it, else NULL."""
    rules: list[str] = []
    for column in SOURCE_COLUMNS:
        rules.append(
            f"CASE WHEN {column} IS NULL OR {column}{TEXT_SUFFIX} = '' THEN 'missing {column}' END"
        )
    for column, (low, high) in INTEGER_RANGES.items():
        text, number = f"{column}{TEXT_SUFFIX}", f"{column}{INTEGER_SUFFIX}"
        rules.append(
            f"CASE WHEN {text} <> '' AND {number} IS NULL "
            f"THEN '{column} is not an integer: ' || {column} "
            f"WHEN {number} NOT BETWEEN {low} AND {high} "
            f"THEN '{column} outside {low}..{high}: ' || {column} END"
        )
    for column, allowed in ALLOWED_VALUES.items():
        text = f"{column}{TEXT_SUFFIX}"
        values = ", ".join(_sql_text(value) for value in allowed)
        rules.append(
            f"CASE WHEN {text} <> '' AND {text} NOT IN ({values}) "
            f"THEN '{column} not in {{{', '.join(allowed)}}}: ' || {column} END"
        )
    product = f"Product_ID{TEXT_SUFFIX}"
    rules.append(
        f"CASE WHEN {product} <> '' AND NOT regexp_full_match({product}, "
        f"{_sql_text(PRODUCT_ID_PATTERN)}) THEN 'Product_ID does not match "
        f"{PRODUCT_ID_PATTERN}: ' || Product_ID END"
    )
    rules.append(
        "CASE WHEN first_line_number IS NOT NULL "
        "THEN 'duplicate row: first copy on line ' || first_line_number END"
    )
    return rules


def _typed_columns() -> str:
    """The raw table's columns from the cleaned ones (valid rows only: no cast can fail)."""
    return ", ".join(
        f"{column}{INTEGER_SUFFIX if kind == 'BIGINT' else TEXT_SUFFIX} AS {column}"
        for column, kind in RAW_COLUMN_TYPES.items()
    )


def _read_header(path: Path) -> list[str]:
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


def _check_columns(path: Path, header: list[str]) -> list[str]:
    """Fail on missing columns (naming a likely wrong delimiter); return the ignored extras."""
    missing = [column for column in SOURCE_COLUMNS if column not in header]
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
    return [column for column in header if column not in SOURCE_COLUMNS]


# A non-blank line: from its first non-whitespace byte to the end of the line (one match each).
NON_BLANK_LINE = re.compile(rb"[^\s][^\n]*")
# A blank line after a newline (whitespace only up to the next newline). The leading literal
# lets the regex engine jump from newline to newline: 6x faster than matching every line.
BLANK_LINE_AFTER_NEWLINE = re.compile(rb"\n[ \t\r\f\v]*(?=\n)")
FINGERPRINT_CHUNK_BYTES = 16 * 1024 * 1024


def _non_blank_complete_lines(block: bytes) -> int:
    """Lines of `block` (each ending with a newline) that hold more than whitespace."""
    first_line = block[: block.index(b"\n")]
    blank = len(BLANK_LINE_AFTER_NEWLINE.findall(block)) + (not first_line.strip())
    return block.count(b"\n") - blank


def file_fingerprint(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its count of non-blank data lines, counted apart from the parser.

    One pass in fixed-size chunks (memory does not grow with the file); a line cut by a chunk
    boundary is carried over to the next chunk so it is counted once.
    """
    digest = hashlib.sha256()
    lines = 0
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(FINGERPRINT_CHUNK_BYTES):
            digest.update(chunk)
            complete_end = chunk.rfind(b"\n") + 1  # 0: no line ends in this chunk
            if complete_end:
                lines += _non_blank_complete_lines(carry + chunk[:complete_end])
                carry = chunk[complete_end:]
            else:
                carry += chunk
    lines += NON_BLANK_LINE.subn(b"", carry)[1]
    return digest.hexdigest(), max(lines - 1, 0)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file alone: its identity, as the ledger records it on load."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_sha256(files: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of each file (by key), hashed side by side: hashlib releases the GIL."""
    with ThreadPoolExecutor() as pool:
        return dict(zip(files, pool.map(file_sha256, files.values()), strict=True))


def _parse_error(path: Path, error: duckdb.Error) -> LandingFileError:
    message = str(error)
    where = message.splitlines()[0]
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return LandingFileError(
            path,
            f"the file is not valid UTF-8 text ({where})",
            "Re-export it encoded as UTF-8.",
        )
    return LandingFileError(
        path, f"the file cannot be parsed as CSV ({where})", "Fix or re-export the file."
    )


def _read_csv_sql(path: Path) -> str:
    # Every column as text, so a malformed value becomes a rejected row instead of a failed
    # file; by name, so files may order columns differently or carry extra ones.
    return (
        f"SELECT {', '.join(SOURCE_COLUMNS)} FROM read_csv({_sql_text(str(path))}, "
        "header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true, "
        "null_padding = true, strict_mode = false)"
    )


def stage_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Read one file as text into temp table `staged` (source columns, in file order).

    The engine reads the file once, in parallel, spilling to its temp directory when the day is
    larger than its memory limit.
    """
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {_read_csv_sql(path)}")
    except duckdb.Error as error:
        raise _parse_error(path, error) from error


def classify_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Tag each staged row with its line number and the contract rules it breaks (empty: valid),
    keeping the typed values (for valid rows) and the original text (for rejected ones).

    Duplicates are found on a hash of the row first (one integer per row to group), then
    confirmed on the full text of the few candidate rows, so a hash collision cannot reject a
    row; every later copy points at the line of the first.
    """
    columns = ", ".join(SOURCE_COLUMNS)
    same_row = " AND ".join(
        f"numbered.{column} IS NOT DISTINCT FROM firsts.{column}" for column in SOURCE_COLUMNS
    )
    sources = ", ".join(
        f"CASE WHEN len(reasons) > 0 THEN {column} END AS {column}{SOURCE_SUFFIX}"
        for column in SOURCE_COLUMNS
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE classified AS "
        # Insertion order is preserved, so the row's position in the file (+ the header line,
        # 1-based) is its line number. Row ids start past an offset inside a transaction.
        "WITH numbered AS (SELECT rowid - (SELECT min(rowid) FROM staged) + 2 AS line_number, "
        f"{columns}, hash({columns}) AS row_hash FROM staged), "
        "repeated AS (SELECT row_hash FROM numbered GROUP BY row_hash HAVING count(*) > 1), "
        f"firsts AS (SELECT {columns}, row_hash, min(line_number) AS first_copy FROM numbered "
        "WHERE row_hash IN (SELECT row_hash FROM repeated) GROUP BY ALL), "
        "flagged AS (SELECT numbered.*, CASE WHEN firsts.first_copy < numbered.line_number "
        "THEN firsts.first_copy END AS first_line_number FROM numbered "
        f"LEFT JOIN firsts ON numbered.row_hash = firsts.row_hash AND {same_row}), "
        f"cleaned AS (SELECT *, {_cleaned_columns()} FROM flagged), "
        "checked AS (SELECT *, list_filter(["
        + ", ".join(_reason_expressions())
        + "], lambda reason: reason IS NOT NULL) AS reasons FROM cleaned) "
        f"SELECT line_number, {_typed_columns()}, {sources}, reasons FROM checked"
    )
    con.execute("DROP TABLE staged")


def load_file(
    con: duckdb.DuckDBPyConnection, day: str, path: Path, fingerprints: ThreadPoolExecutor
) -> FileLoad:
    """Load one day's file (the day's earlier rows are already deleted); record it in the ledger.

    The file is read twice in all: once by the engine (parse, classify, insert) and once, on a
    thread of `fingerprints` while the engine works (which releases the GIL), for its hash and
    an independent count of its lines, which the parse must match.
    """
    ignored = _check_columns(path, _read_header(path))
    fingerprint = fingerprints.submit(file_fingerprint, path)
    stage_file(con, path)
    classify_staged(con)
    con.execute(
        f"INSERT INTO raw.transactions SELECT {', '.join(RAW_COLUMN_TYPES)}, DATE '{day}' "
        "FROM classified WHERE len(reasons) = 0"
    )
    con.execute(
        f"INSERT INTO raw.rejected_transactions SELECT DATE '{day}', ?, line_number, "
        + ", ".join(f"{column}{SOURCE_SUFFIX}" for column in SOURCE_COLUMNS)
        + ", reasons, now() FROM classified WHERE len(reasons) > 0 ORDER BY line_number",
        [str(path)],
    )
    total, rejected = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE len(reasons) > 0) FROM classified"
    ).fetchone()
    reasons = {
        rule: int(count)
        for rule, count in con.execute(
            "SELECT regexp_replace(reason, ':.*$', '') AS rule, count(*) "
            "FROM (SELECT unnest(reasons) AS reason FROM classified WHERE len(reasons) > 0) "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    }
    con.execute("DROP TABLE classified")
    sha256, data_lines = fingerprint.result()
    if total != data_lines:
        raise LandingFileError(
            path,
            f"{data_lines} data lines but {total} rows parsed (a quoted field with a line "
            "break, or lines the CSV reader could not split)",
            "Re-export the file with one record per line",
        )
    load = FileLoad(
        day=day,
        path=path,
        file_sha256=sha256,
        data_lines=data_lines,
        rows_loaded=total - rejected,
        rows_rejected=rejected,
        rejection_reasons=reasons,
        ignored_columns=ignored,
    )
    con.execute(
        "INSERT INTO raw.landing_loads VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [day, str(path), sha256, data_lines, load.rows_loaded, rejected, ignored],
    )
    return load


def load_files(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> list[FileLoad]:
    """Replace each day (key) in the raw tables with its file; the caller owns the transaction.

    Files load one at a time, so the engine's working set is one day's rows, not the range's.
    """
    days = list(files)
    for table in ("raw.transactions", "raw.rejected_transactions", "raw.landing_loads"):
        con.execute(f"DELETE FROM {table} WHERE CAST(transaction_date AS VARCHAR) IN ?", [days])
    with ThreadPoolExecutor(max_workers=1) as fingerprints:
        return [load_file(con, day, path, fingerprints) for day, path in files.items()]
