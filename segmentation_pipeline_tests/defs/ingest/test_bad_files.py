"""A corpus of bad landing files, one per class, run through real materialisations.

Each case replaces one landed day of a fully materialised warehouse with a variant of that day's
file and re-runs the day. Row-level problems are quarantined with their reasons while the rest
loads; file-level problems fail the day with a message naming the file and the problem, and
leave every table exactly as it was.
"""

import gzip
import hashlib
from collections.abc import Callable

import dagster as dg
import duckdb
import pytest

from segmentation_pipeline.definitions import defs
from segmentation_pipeline.lib.ingest.landing import landed_days, landing_file
from segmentation_pipeline.settings import Settings

HEADER = (
    "User_ID,Product_ID,Gender,Age,Occupation,City_Category,Stay_In_Current_City_Years,"
    "Marital_Status,Product_Category,Purchase"
)
TABLES = (
    "raw.transactions",
    "raw.rejected_transactions",
    "raw.landing_loads",
    "marts.customer_features",
    "marts.customer_segments",
    "marts.segment_profiles",
)


def warehouse_digest(settings: Settings) -> dict[str, str]:
    """A content hash of every table, rows in a fixed order."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {
            table: hashlib.sha256(
                con.execute(f"SELECT * FROM {table} ORDER BY ALL").df().to_csv().encode()
            ).hexdigest()
            for table in TABLES
        }


def rerun_day(settings: Settings, instance: dg.DagsterInstance, day: str):
    return defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, partition_key=day, raise_on_error=False
    )


def day_lines(settings: Settings) -> tuple[str, list[str]]:
    """The last landed day and its data lines (header dropped)."""
    day = landed_days(settings.landing_dir)[-1]
    return day, landing_file(settings.landing_dir, day).read_text().splitlines()[1:]


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "the run was expected to fail"
    return failures[0].step_failure_data.error.message


# --- file-level problems: the day fails, nothing changes -------------------------------------

FILE_PROBLEMS: dict[str, tuple[Callable[[list[str]], bytes], str]] = {
    "missing column": (
        lambda lines: "\n".join(
            [HEADER.rsplit(",", 1)[0]] + [line.rsplit(",", 1)[0] for line in lines]
        ).encode(),
        "required columns are missing: Purchase",
    ),
    "renamed column": (
        lambda lines: "\n".join([HEADER.replace("User_ID", "UserId"), *lines]).encode(),
        "required columns are missing: User_ID",
    ),
    "empty file": (lambda lines: b"", "the file is empty"),
    "binary file": (
        lambda lines: gzip.compress("\n".join([HEADER, *lines]).encode()),
        "the file is binary",
    ),
    "wrong delimiter": (
        lambda lines: "\n".join(line.replace(",", ";") for line in [HEADER, *lines]).encode(),
        "the header is not comma-separated",
    ),
    "undecodable encoding": (
        lambda lines: (
            "\n".join([HEADER, *lines]).encode()
            + b"\n1000001,P00069042,F,0-17,10,A,2,0,3,8370\xe9\n"
        ),
        "not valid UTF-8",
    ),
    "a quote never closed": (
        lambda lines: "\n".join([HEADER, lines[0].replace("P", '"P', 1), *lines[1:]]).encode(),
        "cannot be parsed as CSV (line 2: a quote is never closed",
    ),
}


@pytest.mark.parametrize("case", list(FILE_PROBLEMS))
def test_file_level_problem_fails_the_day_and_changes_nothing(
    case: str, materialised: Settings, instance: dg.DagsterInstance
) -> None:
    build, expected = FILE_PROBLEMS[case]
    day, lines = day_lines(materialised)
    before = warehouse_digest(materialised)
    path = landing_file(materialised.landing_dir, day)
    path.write_bytes(build(lines))

    result = rerun_day(materialised, instance, day)

    assert not result.success
    message = failure_message(result)
    assert str(path) in message and expected in message
    assert warehouse_digest(materialised) == before


def test_mostly_broken_file_is_refused(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    day, lines = day_lines(materialised)
    before = warehouse_digest(materialised)
    tenth = len(lines) // 10
    broken = [line.replace(",F,", ",X,").replace(",M,", ",X,") for line in lines[:tenth]]
    landing_file(materialised.landing_dir, day).write_text(
        "\n".join([HEADER, *broken, *lines[tenth:]]) + "\n"
    )

    result = rerun_day(materialised, instance, day)

    assert not result.success
    message = failure_message(result)
    assert "break the data contract, more than the 5% allowed" in message
    assert warehouse_digest(materialised) == before


# --- row-level problems: quarantined with every reason, the rest loads ------------------------


def loaded_day(settings: Settings, day: str) -> tuple[int, int, int, list]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        data_lines, loaded, rejected = con.execute(
            "SELECT data_lines, rows_loaded, rows_rejected FROM raw.landing_loads "
            "WHERE transaction_date = ?",
            [day],
        ).fetchone()
        quarantined = con.execute(
            "SELECT line_number, reasons, User_ID, Purchase FROM raw.rejected_transactions "
            "WHERE transaction_date = ? ORDER BY line_number",
            [day],
        ).fetchall()
        (in_raw,) = con.execute(
            "SELECT count(*) FROM raw.transactions WHERE transaction_date = ?", [day]
        ).fetchone()
    assert in_raw == loaded and len(quarantined) == rejected
    return data_lines, loaded, rejected, quarantined


def test_row_level_problems_are_quarantined_with_every_reason(
    materialised: Settings, instance: dg.DagsterInstance
) -> None:
    day, lines = day_lines(materialised)
    first = lines[0].split(",")
    missing = ",".join([*first[:9], ""])
    outside = ",".join([first[0], first[1], "X", "99", *first[4:9], "250000"])
    unparsable = ",".join([*first[:9], "12a"])
    duplicate = lines[1]
    bad = [missing, outside, unparsable, duplicate]
    landing_file(materialised.landing_dir, day).write_text("\n".join([HEADER, *lines, *bad]) + "\n")

    result = rerun_day(materialised, instance, day)

    assert result.success
    data_lines, loaded, rejected, quarantined = loaded_day(materialised, day)
    assert (data_lines, loaded, rejected) == (len(lines) + 4, len(lines), 4)
    first_bad_line = len(lines) + 2  # header is line 1
    assert [row[0] for row in quarantined] == list(range(first_bad_line, first_bad_line + 4))
    reasons = [sorted(row[1]) for row in quarantined]
    assert reasons[0] == ["missing Purchase"]
    assert reasons[1] == [
        "Age not in {0-17, 18-25, 26-35, 36-45, 46-50, 51-55, 55+}: 99",
        "Gender not in {F, M}: X",
        "Purchase outside 1..100000: 250000",
    ]
    assert reasons[2] == ["Purchase is not an integer: 12a"]
    assert reasons[3] == ["duplicate row: first copy on line 3"]
    assert quarantined[2][3] == "12a"  # original text kept
    checks = {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }
    assert checks["raw_transactions_accounting"].passed
    assert checks["raw_transactions_contract"].passed


# --- tolerated without loss --------------------------------------------------------------------

TOLERATED: dict[str, Callable[[list[str]], bytes]] = {
    "CRLF line endings": lambda lines: ("\r\n".join([HEADER, *lines]) + "\r\n").encode(),
    "UTF-8 BOM": lambda lines: b"\xef\xbb\xbf" + ("\n".join([HEADER, *lines]) + "\n").encode(),
    "quoted fields": lambda lines: (
        "\n".join(",".join(f'"{value}"' for value in line.split(",")) for line in [HEADER, *lines])
        + "\n"
    ).encode(),
    "columns in another order": lambda lines: (
        "\n".join(",".join(reversed(line.split(","))) for line in [HEADER, *lines]) + "\n"
    ).encode(),
    "extra columns": lambda lines: (
        "\n".join(
            [HEADER + ",Product_Category_2,Product_Category_3"] + [line + ",," for line in lines]
        )
        + "\n"
    ).encode(),
}


@pytest.mark.parametrize("case", list(TOLERATED))
def test_tolerated_variants_load_every_row_unchanged(
    case: str, materialised: Settings, instance: dg.DagsterInstance
) -> None:
    day, lines = day_lines(materialised)
    query = (
        "SELECT * EXCLUDE (transaction_date) FROM raw.transactions "
        f"WHERE transaction_date = DATE '{day}' ORDER BY ALL"
    )
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        before = con.execute(query).df()
    landing_file(materialised.landing_dir, day).write_bytes(TOLERATED[case](lines))

    result = rerun_day(materialised, instance, day)

    assert result.success
    assert loaded_day(materialised, day)[:3] == (len(lines), len(lines), 0)
    with duckdb.connect(str(materialised.warehouse_path), read_only=True) as con:
        after = con.execute(query).df()
    assert after.equals(before)
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    if case == "extra columns":
        assert "Product_Category_2, Product_Category_3" in metadata["files"].value
