"""Load landing files into the warehouse: valid rows typed, broken rows kept with reasons.

Every data line of a file ends up in exactly one of `raw.transactions` (valid rows, typed) or
`raw.rejected_transactions` (original text, line number and every reason), so nothing is lost.

Most files are clean, so each file is first inserted in one pass that keeps only rows in the
contract's plain form (`insert_if_clean`). When that pass kept every line, the file is done;
otherwise its rows are taken out again and the file is checked row by row
(`stage_landing_file`), which finds each broken row's line and reasons.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segmentation_pipeline.lib.ingest import raw_layer
from segmentation_pipeline.lib.ingest.contract import (
    ALLOWED_VALUES,
    INTEGER_RANGES,
    PRODUCT_ID_PATTERN,
    RAW_COLUMN_TYPES,
    sql_text,
)
from segmentation_pipeline.lib.ingest.landing_file import (
    Fingerprint,
    LandingFileError,
    check_columns,
    file_fingerprint,
    parse_error,
    read_header,
    source_column_positions,
)
from segmentation_pipeline.lib.warehouse import transaction
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
    checked_row_by_row: bool = False  # not every line was a plain valid row (see the module)

    @property
    def rejected_share(self) -> float:
        return self.rows_rejected / self.data_lines if self.data_lines else 0.0


# Each source column is cleaned once (`<column>__text`) and, if an integer column, parsed once
# (`<column>__int`); the rules read those instead of cleaning again.
TEXT_SUFFIX = "__text"
INTEGER_SUFFIX = "__int"
# The first column past the header's: a line with more fields than the header fills it, so the
# line is rejected with that value instead of losing its extra values. The read declares as many
# spare columns as the header has, so a line up to twice as wide is rejected alone; a wider one
# fails its file (`landing_file.parse_error`). Ten spare columns cost nothing measurable on
# 60 MB files; fifty cost 30% of the read.
BEYOND_HEADER = "field_beyond_header"


def _cleaned_columns(*, plain_only: bool = False) -> str:
    """The cleaned columns as the row-by-row check reads them (trimmed, signs and leading zeros
    allowed), or, `plain_only`, as the one-pass insert reads them: untouched, an integer only
    in its plain form ("12", not "+12", "012" or " 12"). Every plain row is valid as read row by
    row, to the same values; a valid row that is not plain sends its file to the row-by-row check.
    """
    if plain_only:
        texts = {column: column for column in SOURCE_COLUMNS}
        parsed = {
            # A bare cast would accept "12.5", "1e3" or "1_000": the round trip refuses them.
            column: f"CASE WHEN CAST(TRY_CAST({column} AS BIGINT) AS VARCHAR) = {column} "
            f"THEN TRY_CAST({column} AS BIGINT) END"
            for column in INTEGER_RANGES
        }
    else:
        texts = {column: f"trim({column})" for column in SOURCE_COLUMNS}
        # Digits only, for the same reason.
        parsed = {
            column: f"CASE WHEN regexp_full_match(trim({column}), '[+-]?[0-9]+') "
            f"THEN TRY_CAST(trim({column}) AS BIGINT) END"
            for column in INTEGER_RANGES
        }
    return ", ".join(
        [f"{text} AS {column}{TEXT_SUFFIX}" for column, text in texts.items()]
        + [f"{number} AS {column}{INTEGER_SUFFIX}" for column, number in parsed.items()]
    )


def _typed_columns() -> str:
    """A cleaned row's values, typed as in `raw.transactions` (without the date)."""
    return ", ".join(
        f"{column}{INTEGER_SUFFIX if kind == 'BIGINT' else TEXT_SUFFIX} AS {column}"
        for column, kind in RAW_COLUMN_TYPES.items()
    )


@dataclass(frozen=True)
class ContractRule:
    """One rule of the data contract, in SQL over a staged row's cleaned columns."""

    broken: str  # true when the row breaks the rule (NULL: it does not)
    reason: str  # the reason text recorded with a row that breaks it


# A value quoted in a reason is cut to this length: the rejected row keeps it whole.
SHOWN_VALUE_CHARS = 40


def _shown(column: str) -> str:
    return (
        f"CASE WHEN length({column}) > {SHOWN_VALUE_CHARS} "
        f"THEN left({column}, {SHOWN_VALUE_CHARS}) || '...' ELSE {column} END"
    )


def _row_rules() -> list[ContractRule]:
    rules = [
        ContractRule(f"{column} IS NULL OR {column}{TEXT_SUFFIX} = ''", f"'missing {column}'")
        for column in SOURCE_COLUMNS
    ]
    # The extra value is quoted whole: the rejected row has no column to keep it.
    rules.append(
        ContractRule(
            f"{BEYOND_HEADER} IS NOT NULL",
            f"'more fields than the header, the first extra one: ' || {BEYOND_HEADER}",
        )
    )
    for column, (low, high) in INTEGER_RANGES.items():
        text, number = f"{column}{TEXT_SUFFIX}", f"{column}{INTEGER_SUFFIX}"
        rules.append(
            ContractRule(
                f"{text} <> '' AND {number} IS NULL",
                f"'{column} is not an integer: ' || {_shown(column)}",
            )
        )
        rules.append(
            ContractRule(
                f"{number} NOT BETWEEN {low} AND {high}",
                f"'{column} outside {low}..{high}: ' || {_shown(column)}",
            )
        )
    for column, allowed in ALLOWED_VALUES.items():
        text = f"{column}{TEXT_SUFFIX}"
        values = ", ".join(sql_text(value) for value in allowed)
        rules.append(
            ContractRule(
                f"{text} <> '' AND {text} NOT IN ({values})",
                f"'{column} not in {{{', '.join(allowed)}}}: ' || {_shown(column)}",
            )
        )
    product, pattern = f"Product_ID{TEXT_SUFFIX}", sql_text(PRODUCT_ID_PATTERN)
    rules.append(
        ContractRule(
            f"{product} <> '' AND NOT regexp_full_match({product}, {pattern})",
            f"'Product_ID does not match {PRODUCT_ID_PATTERN}: ' || {_shown('Product_ID')}",
        )
    )
    return rules


# A later copy of an earlier line; known once the whole file is staged (`_find_later_copies`).
DUPLICATE_RULE = ContractRule(
    "first_line_number IS NOT NULL", "'duplicate row: first copy on line ' || first_line_number"
)


def _breaks_row_rules() -> str:
    """True when the row breaks any rule of its own: one test per row while the file is read;
    the reasons are spelled out later for those rows only."""
    return "coalesce(" + " OR ".join(f"({rule.broken})" for rule in _row_rules()) + ", false)"


def _reasons() -> str:
    """The list of every rule the row breaks, as reason texts."""
    cases = ", ".join(
        f"CASE WHEN {rule.broken} THEN {rule.reason} END"
        for rule in [*_row_rules(), DUPLICATE_RULE]
    )
    return f"list_filter([{cases}], lambda reason: reason IS NOT NULL)"


def _read_csv_sql(path: Path, header: list[str]) -> str:
    """The file's contract columns, by their place in its `header` (`read_header`, read once per
    file by `_load_or_stage`; files may order columns differently or carry extra ones), and the
    first field past the header (`BEYOND_HEADER`; the other spare fields are read, not kept).

    Every field is read as text, so a malformed value becomes a rejected row instead of a failed
    file. The dialect is fixed and strict: a quote never closed, or text after a closing quote,
    fails the file with its line instead of being read into a mangled row.
    """
    positions = source_column_positions(path, header)
    names = [f"field_{index}" for index in range(len(header))]
    spare = [BEYOND_HEADER, *(f"{BEYOND_HEADER}_{n}" for n in range(2, len(header) + 1))]
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in [*names, *spare])
    selected = ", ".join(f"field_{positions[column]} AS {column}" for column in SOURCE_COLUMNS)
    return (
        f"SELECT {selected}, {BEYOND_HEADER} FROM read_csv({sql_text(str(path))}, "
        "auto_detect = false, header = false, skip = 1, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {{{columns}}}, null_padding = true, strict_mode = true)"
    )


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, header: list[str]) -> int:
    """Read one file as text into temp table `staged` (source columns, in file order, whether
    the row breaks a rule of its own, and a hash of its text); returns the rowid of its first row.

    The engine reads the file once, in parallel, spilling to its temp directory when the day is
    larger than its memory limit. Insertion order is preserved, so a row's line in the file is
    its rowid past the first one, + 2 (the header line; lines count from 1).
    """
    columns = ", ".join(SOURCE_COLUMNS)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE staged AS "
            f"SELECT {columns}, {BEYOND_HEADER}, {_breaks_row_rules()} AS broken, "
            f"hash({columns}) AS row_hash "
            f"FROM (SELECT *, {_cleaned_columns()} FROM ({_read_csv_sql(path, header)}))"
        )
    except duckdb.Error as error:
        raise parse_error(path, error, header) from error
    (first_rowid,) = con.execute("SELECT coalesce(min(rowid), 0) FROM staged").fetchone()
    return int(first_rowid)


def _line_number(first_rowid: int) -> str:
    """A staged row's line in its file (see `stage_file`)."""
    return f"(staged.rowid - {first_rowid} + 2)"


def _find_later_copies(con: duckdb.DuckDBPyConnection, first_rowid: int) -> None:
    """Temp table `later_copies`: the line of every row that repeats an earlier line, and the
    line of its first copy.

    Rows are grouped on their hash first (one integer per row, computed while the file was
    read), then candidates are compared on their full text, so a hash collision cannot reject a
    row.
    """
    columns = ", ".join(SOURCE_COLUMNS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE repeated_hashes AS "
        "SELECT row_hash FROM staged GROUP BY row_hash HAVING count(*) > 1"
    )
    # Only the rows of repeated hashes are read in full: none at all in a file without copies.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE later_copies AS "
        f"WITH candidates AS (SELECT {_line_number(first_rowid)} AS line_number, {columns} "
        "FROM staged WHERE row_hash IN (SELECT row_hash FROM repeated_hashes)), "
        f"copies AS (SELECT line_number, min(line_number) OVER (PARTITION BY {columns}) "
        "AS first_line_number FROM candidates) "
        "SELECT * FROM copies WHERE line_number > first_line_number"
    )


def _collect_rejected(con: duckdb.DuckDBPyConnection, first_rowid: int) -> None:
    """Temp table `rejected`: the rows that break a rule or repeat a line, with their line,
    original text and every reason (spelled out here, for these rows only)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rejected AS "
        f"SELECT line_number, {', '.join(SOURCE_COLUMNS)}, {_reasons()} AS reasons "
        f"FROM (SELECT *, {_cleaned_columns()} FROM ("
        f"SELECT {_line_number(first_rowid)} AS line_number, staged.*, "
        "later_copies.first_line_number FROM staged "
        f"LEFT JOIN later_copies ON {_line_number(first_rowid)} = later_copies.line_number "
        "WHERE staged.broken OR later_copies.line_number IS NOT NULL)) ORDER BY line_number"
    )


def _valid_rows_sql(first_rowid: int) -> str:
    """The staged rows that break no rule, typed as in `raw.transactions` (without the date)."""
    # Plain casts: these rows are valid, so the checks of `_cleaned_columns` need not run again.
    typed = ", ".join(
        f"CAST(trim({column}) AS BIGINT) AS {column}"
        if kind == "BIGINT"
        else f"trim({column}) AS {column}"
        for column, kind in RAW_COLUMN_TYPES.items()
    )
    return (
        f"SELECT {typed} FROM staged WHERE NOT broken AND {_line_number(first_rowid)} "
        "NOT IN (SELECT line_number FROM later_copies)"
    )


def _rejection_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int, dict[str, int]]:
    """Rows staged, rows rejected, and rows rejected per rule."""
    (total,) = con.execute("SELECT count(*) FROM staged").fetchone()
    (rejected,) = con.execute("SELECT count(*) FROM rejected").fetchone()
    reasons = {
        rule: int(count)
        for rule, count in con.execute(
            "SELECT regexp_replace(reason, ':.*$', '') AS rule, count(*) "
            "FROM (SELECT unnest(reasons) AS reason FROM rejected) GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    }
    return int(total), int(rejected), reasons


# Files fingerprinted ahead of the one the engine is loading.
FINGERPRINT_THREADS = 2


def insert_if_clean(
    con: duckdb.DuckDBPyConnection,
    day: str,
    path: Path,
    header: list[str],
    fingerprint: Future[Fingerprint],
) -> bool:
    """Insert the file's plain valid rows as `day` in one pass; True when that was every line.

    False when a line was broken, repeated, or not in its plain form: the day's rows are left
    in `raw.transactions` for the caller to remove. The engine reads the file once, in parallel,
    without staging, while `fingerprint` counts its lines on another thread.
    """
    try:
        (inserted,) = con.execute(
            f"INSERT INTO raw.transactions SELECT {_typed_columns()}, DATE '{day}' "
            f"FROM (SELECT *, {_cleaned_columns(plain_only=True)} "
            f"FROM ({_read_csv_sql(path, header)})) "
            f"WHERE NOT {_breaks_row_rules()}"
        ).fetchone()
    except duckdb.Error as error:
        raise parse_error(path, error, header) from error
    file = fingerprint.result()
    if not file.plain or inserted != file.data_lines:
        return False
    # A hash collision only sends the file to the row-by-row check, which compares full rows.
    (repeated,) = con.execute(
        f"SELECT count(*) FROM (SELECT hash({', '.join(SOURCE_COLUMNS)}) AS row_hash "
        f"FROM raw.transactions WHERE transaction_date = DATE '{day}' "
        "GROUP BY row_hash HAVING count(*) > 1)"
    ).fetchone()
    return not repeated


@dataclass(frozen=True)
class StagedFile:
    """A landing file checked row by row, its rows in temp Parquet files for the warehouse."""

    load: FileLoad
    valid_rows: Path
    rejected_rows: Path | None  # the quarantined rows (None when every row is valid)

    def discard(self) -> None:
        for rows in (self.valid_rows, self.rejected_rows):
            if rows:
                rows.unlink(missing_ok=True)


def _write_temp(staging: duckdb.DuckDBPyConnection, sql: str, folder: Path, kind: str) -> Path:
    temp = raw_layer.temp_path(folder, kind)
    try:
        staging.execute(f"COPY ({sql}) TO '{temp}' (FORMAT parquet)")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def stage_landing_file(
    staging: duckdb.DuckDBPyConnection,
    day: str,
    path: Path,
    header: list[str],
    work_dir: Path,
    fingerprint: Fingerprint,
    ignored_columns: list[str],
) -> StagedFile:
    """Parse and check one day's file row by row on `staging` (a connection of its own, closed
    here) and write its valid and rejected rows to temp files in `work_dir`.

    Staging commits as it goes, outside the load's transaction: temp tables dropped inside it
    would keep their memory until it commits, every day of a backfill at once (spilling
    gigabytes at 100x the sample).
    """
    with staging:
        first_rowid = stage_file(staging, path, header)
        _find_later_copies(staging, first_rowid)
        _collect_rejected(staging, first_rowid)
        total, rejected, reasons = _rejection_counts(staging)
        if total != fingerprint.data_lines:
            raise LandingFileError(
                path,
                f"{fingerprint.data_lines} data lines but {total} rows parsed (a quoted field "
                "with a line break, or lines the CSV reader could not split)",
                "Re-export the file with one record per line",
            )
        work_dir.mkdir(parents=True, exist_ok=True)
        valid_rows = _write_temp(staging, _valid_rows_sql(first_rowid), work_dir, "valid")
        try:
            rejected_rows = (
                _write_temp(staging, "SELECT * FROM rejected", work_dir, "rejected")
                if rejected
                else None
            )
        except BaseException:
            valid_rows.unlink(missing_ok=True)
            raise
    load = FileLoad(
        day=day,
        path=path,
        file_sha256=fingerprint.sha256,
        data_lines=total,
        rows_loaded=total - rejected,
        rows_rejected=rejected,
        rejection_reasons=reasons,
        ignored_columns=ignored_columns,
        checked_row_by_row=True,
    )
    return StagedFile(load=load, valid_rows=valid_rows, rejected_rows=rejected_rows)


def insert_staged(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """Add a staged day to `raw.transactions` and its quarantine (on `con`, inside the load's
    transaction; the day's earlier rows are already deleted); its temp files go either way."""
    load = staged.load
    try:
        con.execute(
            f"INSERT INTO raw.transactions SELECT *, DATE '{load.day}' "
            f"FROM read_parquet('{staged.valid_rows}')"
        )
        if staged.rejected_rows:
            con.execute(
                f"INSERT INTO raw.rejected_transactions SELECT DATE '{load.day}', ?, "
                f"line_number, {', '.join(SOURCE_COLUMNS)}, reasons, now() "
                f"FROM read_parquet('{staged.rejected_rows}')",
                [str(load.path)],
            )
    finally:
        staged.discard()


def _record_load(con: duckdb.DuckDBPyConnection, load: FileLoad) -> None:
    con.execute(
        "INSERT INTO raw.landing_loads VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [
            load.day,
            str(load.path),
            load.file_sha256,
            load.data_lines,
            load.rows_loaded,
            load.rows_rejected,
            load.ignored_columns,
        ],
    )


# Files checked row by row side by side, while the engine goes on with the clean ones: a day of
# 1x or 10x is too small for the engine to spread one file over both cores of a small machine.
PARALLEL_STAGING = 2


@dataclass(frozen=True)
class Staging:
    """A file being checked row by row on `connection`, a thread of its own."""

    future: Future[StagedFile]
    connection: duckdb.DuckDBPyConnection


def _load_or_stage(
    con: duckdb.DuckDBPyConnection,
    day: str,
    path: Path,
    work_dir: Path,
    fingerprint: Future[Fingerprint],
    stagers: ThreadPoolExecutor,
    try_one_pass: bool,
) -> FileLoad | Staging:
    """Replace `day` with one file: in one pass when it is clean (tried if `try_one_pass`), else
    start its row-by-row check (the caller inserts the staged rows)."""
    header = read_header(path)  # once: the reads below select their columns by its places
    ignored = check_columns(path, header)
    if try_one_pass and insert_if_clean(con, day, path, header, fingerprint):
        file = fingerprint.result()
        return FileLoad(
            day=day,
            path=path,
            file_sha256=file.sha256,
            data_lines=file.data_lines,
            rows_loaded=file.data_lines,
            rows_rejected=0,
            ignored_columns=ignored,
        )
    con.execute(f"DELETE FROM raw.transactions WHERE transaction_date = DATE '{day}'")
    staging = con.cursor()  # made here: `con` belongs to this thread
    future = stagers.submit(
        stage_landing_file, staging, day, path, header, work_dir, fingerprint.result(), ignored
    )
    return Staging(future, staging)


def load_files(
    con: duckdb.DuckDBPyConnection, files: dict[str, Path], work_dir: Path
) -> list[FileLoad]:
    """Replace each day (key) in the raw tables with its file; the caller owns the transaction.
    Files checked row by row pass through temp files in `work_dir`.

    The engine loads one clean file at a time with all its threads; the next files are
    fingerprinted on other threads (hashing releases the GIL), and the files that are not clean
    are checked row by row beside it, then inserted in order. Once a file is not clean, the
    later ones are checked row by row without a one-pass attempt.
    """
    days = list(files)
    for table in ("raw.transactions", "raw.rejected_transactions", "raw.landing_loads"):
        con.execute(f"DELETE FROM {table} WHERE CAST(transaction_date AS VARCHAR) IN ?", [days])
    # Temp files of a killed load (writers take turns, so none is another load's).
    for leftover in work_dir.glob(f"{raw_layer.TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    with (
        ThreadPoolExecutor(max_workers=FINGERPRINT_THREADS) as fingerprinting,
        ThreadPoolExecutor(max_workers=PARALLEL_STAGING) as stagers,
    ):
        fingerprints = {
            day: fingerprinting.submit(file_fingerprint, path) for day, path in files.items()
        }
        outcomes: list[FileLoad | Staging] = []
        try:
            for day, path in files.items():
                # Files of one export tend to be clean or not as a whole: after a file that is
                # not, the rest go straight to the row-by-row check instead of paying for a
                # one-pass attempt each (a backfill of files that each carry a bad row took
                # twice as long as checking them row by row at once).
                try_one_pass = not any(isinstance(outcome, Staging) for outcome in outcomes)
                outcomes.append(
                    _load_or_stage(
                        con, day, path, work_dir, fingerprints[day], stagers, try_one_pass
                    )
                )
            loads = [_finish(con, outcome) for outcome in outcomes]
        except BaseException:
            for fingerprint in fingerprints.values():
                fingerprint.cancel()
            _discard_all([outcome for outcome in outcomes if isinstance(outcome, Staging)])
            raise
    return loads


def _finish(con: duckdb.DuckDBPyConnection, outcome: FileLoad | Staging) -> FileLoad:
    """Insert a staged file's rows, then record the file's load in the ledger."""
    if isinstance(outcome, Staging):
        staged = outcome.future.result()
        insert_staged(con, staged)
        outcome = staged.load
    _record_load(con, outcome)
    return outcome


def _discard_all(stagings: list[Staging]) -> None:
    """Remove every temp file of a failed load, once the stagers still running are done."""
    for staging in stagings:
        if staging.future.cancel():
            staging.connection.close()
    for staging in stagings:
        if not staging.future.cancelled() and staging.future.exception() is None:
            staging.future.result().discard()


def _refuse_if_mostly_broken(load: FileLoad, limit: float) -> None:
    if load.rejected_share > limit:
        raise LandingFileError(
            load.path,
            f"{load.rows_rejected} of {load.data_lines} data lines "
            f"({load.rejected_share:.1%}) break the data contract, more than the "
            f"{limit:.0%} allowed ({load.rejection_reasons})",
            "Fix the export and land it again; nothing of this run was written",
        )


def load_days(
    con: duckdb.DuckDBPyConnection,
    files: dict[str, Path],
    work_dir: Path,
    raw_root: Path | None,
    max_rejected_share: float,
) -> list[FileLoad]:
    """Load each day's file in one transaction: none is written if one fails or if more than
    `max_rejected_share` of a file's lines break the contract. Given `raw_root`, also write the
    days' Parquet files there and rename them into place after the commit (`raw_layer`)."""
    exported: list[raw_layer.StagedDay] = []
    try:
        with transaction(con):
            loads = load_files(con, files, work_dir)
            for load in loads:
                _refuse_if_mostly_broken(load, max_rejected_share)
            for load in loads if raw_root else []:
                exported.append(
                    raw_layer.export_day(
                        con, raw_root, load.day, load.file_sha256, load.rows_loaded
                    )
                )
    except BaseException:
        raw_layer.discard(exported)
        raise
    raw_layer.publish(exported)
    return loads
