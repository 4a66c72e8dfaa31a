"""Load one landing file into the warehouse: stage as text, tag broken rows, insert the rest.

Every data line of a file ends up in exactly one of `raw.transactions` (valid rows, typed) or
`raw.rejected_transactions` (original text, line number and every reason), so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segmentation_pipeline.ingest.contract import (
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
REJECTED_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.rejected_transactions ("
    "transaction_date DATE NOT NULL, source_file VARCHAR NOT NULL, line_number BIGINT NOT NULL, "
    + ", ".join(f"{column} VARCHAR" for column in SOURCE_COLUMNS)
    + ", reasons VARCHAR[] NOT NULL, rejected_at TIMESTAMP NOT NULL)"
)


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


def _reason_expressions() -> list[str]:
    """One SQL expression per contract rule: the reason text when the row breaks it, else NULL."""
    rules: list[str] = []
    for column in SOURCE_COLUMNS:
        rules.append(
            f"CASE WHEN {column} IS NULL OR trim({column}) = '' THEN 'missing {column}' END"
        )
    for column, (low, high) in INTEGER_RANGES.items():
        rules.append(
            f"CASE WHEN trim({column}) <> '' AND TRY_CAST(trim({column}) AS BIGINT) IS NULL "
            f"THEN '{column} is not an integer: ' || {column} "
            f"WHEN TRY_CAST(trim({column}) AS BIGINT) NOT BETWEEN {low} AND {high} "
            f"THEN '{column} outside {low}..{high}: ' || {column} END"
        )
    for column, allowed in ALLOWED_VALUES.items():
        values = ", ".join(_sql_text(value) for value in allowed)
        rules.append(
            f"CASE WHEN trim({column}) <> '' AND trim({column}) NOT IN ({values}) "
            f"THEN '{column} not in {{{', '.join(allowed)}}}: ' || {column} END"
        )
    rules.append(
        "CASE WHEN trim(Product_ID) <> '' AND NOT regexp_full_match(trim(Product_ID), "
        f"{_sql_text(PRODUCT_ID_PATTERN)}) THEN 'Product_ID does not match "
        f"{PRODUCT_ID_PATTERN}: ' || Product_ID END"
    )
    rules.append(
        "CASE WHEN first_line_number IS NOT NULL "
        "THEN 'duplicate row: first copy on line ' || first_line_number END"
    )
    return rules


def _read_header(path: Path) -> list[str]:
    """The header names, after the file-level checks that need no parsing of the data."""
    if not path.exists():
        raise LandingFileError(path, "the file does not exist", "Land it, or skip the day.")
    head = path.read_bytes()[:65536]
    if not head.strip():
        raise LandingFileError(
            path, "the file is empty (no header row)", "Re-export it with its header and rows."
        )
    if b"\x00" in head:
        raise LandingFileError(
            path, "the file is binary, not CSV text", "Land the CSV export, not a compressed file."
        )
    text = head.decode("utf-8-sig", errors="replace")
    first_line = text.splitlines()[0]
    return [name.strip().strip('"') for name in first_line.split(",")]


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


def stage_file(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Read the file as text into temp table `staged`, with line numbers; return extra columns."""
    header = _read_header(path)
    ignored = _check_columns(path, header)
    # Every column as text, so a malformed value becomes a rejected row instead of a failed file.
    columns = "{" + ", ".join(f"{_sql_text(name)}: 'VARCHAR'" for name in header) + "}"
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE staged_text AS SELECT * FROM read_csv(?, "
            "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
            f"columns = {columns}, null_padding = true, strict_mode = false)",
            [str(path)],
        )
    except duckdb.Error as error:
        problem = str(error).splitlines()[0]
        if "unicode" in problem.lower() or "utf" in problem.lower():
            raise LandingFileError(
                path, "the file is not valid UTF-8 text", "Re-export it encoded as UTF-8."
            ) from error
        raise LandingFileError(
            path, f"the file cannot be parsed as CSV ({problem})", "Fix or re-export the file."
        ) from error
    # Insertion order is preserved, so rowid + 2 (header, 1-based) is the line in the file.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged AS SELECT rowid + 2 AS line_number, "
        + ", ".join(SOURCE_COLUMNS)
        + " FROM staged_text"
    )
    return ignored


def classify_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Tag each staged row with the list of contract rules it breaks (empty when valid)."""
    columns = ", ".join(SOURCE_COLUMNS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE classified AS "
        "WITH numbered AS (SELECT *, min(line_number) OVER (PARTITION BY "
        + columns
        + ") AS first_copy FROM staged), flagged AS (SELECT *, CASE WHEN first_copy < line_number "
        "THEN first_copy END AS first_line_number FROM numbered) "
        "SELECT line_number, "
        + columns
        + ", list_filter(["
        + ", ".join(_reason_expressions())
        + "], lambda reason: reason IS NOT NULL) AS reasons FROM flagged"
    )


def load_file(con: duckdb.DuckDBPyConnection, path: Path, day: str) -> FileLoad:
    """Replace `day` in the raw tables with the content of `path` (caller owns the transaction)."""
    ignored = stage_file(con, path)
    classify_staged(con)
    con.execute("DELETE FROM raw.transactions WHERE transaction_date = ?", [day])
    con.execute("DELETE FROM raw.rejected_transactions WHERE transaction_date = ?", [day])
    typed = ", ".join(
        f"CAST(trim({column}) AS {kind})" for column, kind in RAW_COLUMN_TYPES.items()
    )
    con.execute(
        f"INSERT INTO raw.transactions SELECT {typed}, CAST(? AS DATE) FROM classified "
        "WHERE len(reasons) = 0 ORDER BY line_number",
        [day],
    )
    con.execute(
        "INSERT INTO raw.rejected_transactions SELECT CAST(? AS DATE), ?, line_number, "
        + ", ".join(SOURCE_COLUMNS)
        + ", reasons, now() FROM classified WHERE len(reasons) > 0 ORDER BY line_number",
        [day, str(path)],
    )
    (data_lines,) = con.execute("SELECT count(*) FROM classified").fetchone()
    reason_counts = dict(
        con.execute(
            "SELECT regexp_replace(reason, ':.*$', '') AS rule, count(*) FROM "
            "(SELECT unnest(reasons) AS reason FROM classified) GROUP BY rule ORDER BY rule"
        ).fetchall()
    )
    (rejected,) = con.execute("SELECT count(*) FROM classified WHERE len(reasons) > 0").fetchone()
    return FileLoad(
        day=day,
        path=path,
        data_lines=int(data_lines),
        rows_loaded=int(data_lines - rejected),
        rows_rejected=int(rejected),
        rejection_reasons={str(rule): int(count) for rule, count in reason_counts.items()},
        ignored_columns=ignored,
    )
