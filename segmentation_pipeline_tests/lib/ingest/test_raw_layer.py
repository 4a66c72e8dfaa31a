"""The Parquet raw layer: one file per loaded day, replaced atomically, repaired after a kill."""

from pathlib import Path

import duckdb
import pytest

from segmentation_pipeline.lib.ingest import raw_layer
from segmentation_pipeline.lib.ingest.landing_file import LandingFileError
from segmentation_pipeline.lib.ingest.loader import create_raw_tables, load_days

HEADER = (
    "User_ID,Product_ID,Gender,Age,Occupation,City_Category,Stay_In_Current_City_Years,"
    "Marital_Status,Product_Category,Purchase"
)
ROW = "{user},P00069042,F,0-17,10,A,2,0,3,{purchase}"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute("CREATE SCHEMA raw")
    create_raw_tables(connection)
    return connection


def land(tmp_path: Path, day: str, *rows: str) -> Path:
    path = tmp_path / "landing" / f"{day}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def load(con: duckdb.DuckDBPyConnection, root: Path, files: dict[str, Path]):
    """The asset's load with the Spark engine: the raw layer written with the rows."""
    return load_days(con, files, root.parent / "staging", root, max_rejected_share=0.5)


def files_rows(con: duckdb.DuckDBPyConnection, root: Path) -> list[tuple]:
    return con.execute(
        f"SELECT CAST(transaction_date AS VARCHAR), User_ID, Purchase "
        f"FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true) ORDER BY ALL"
    ).fetchall()


def table_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT CAST(transaction_date AS VARCHAR), User_ID, Purchase FROM raw.transactions "
        "ORDER BY ALL"
    ).fetchall()


def test_each_day_is_one_file_and_reloading_replaces_exactly_that_day(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    root = tmp_path / "raw" / "transactions"
    first = land(tmp_path, "2025-11-01", ROW.format(user=1, purchase=10), "broken,row")
    second = land(tmp_path, "2025-11-02", ROW.format(user=2, purchase=20))
    load(con, root, {"2025-11-01": first, "2025-11-02": second})
    assert (
        files_rows(con, root)
        == table_rows(con)
        == [
            ("2025-11-01", 1, 10),
            ("2025-11-02", 2, 20),
        ]
    )
    untouched = raw_layer.day_file(root, "2025-11-02").stat().st_mtime_ns

    land(tmp_path, "2025-11-01", ROW.format(user=3, purchase=30), ROW.format(user=4, purchase=40))
    load(con, root, {"2025-11-01": first})
    assert files_rows(con, root) == table_rows(con)
    assert [row for row in files_rows(con, root) if row[0] == "2025-11-01"] == [
        ("2025-11-01", 3, 30),
        ("2025-11-01", 4, 40),
    ]
    assert raw_layer.day_file(root, "2025-11-02").stat().st_mtime_ns == untouched
    assert sorted(path.name for path in root.rglob("*")) == [
        "part-0.parquet",
        "part-0.parquet",
        "transaction_date=2025-11-01",
        "transaction_date=2025-11-02",
    ]
    # The quarantine and the ledger are the loader's, unchanged by the export.
    assert con.execute("SELECT count(*) FROM raw.rejected_transactions").fetchone() == (0,)
    assert raw_layer.sync_raw_layer(con, root) == []


def test_a_kill_between_commit_and_rename_is_repaired_from_the_ledger(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    root = tmp_path / "raw" / "transactions"
    day = "2025-11-01"
    path = land(tmp_path, day, ROW.format(user=1, purchase=10))
    load(con, root, {day: path})
    old_file = raw_layer.day_file(root, day).read_bytes()
    land(tmp_path, day, ROW.format(user=5, purchase=50), ROW.format(user=6, purchase=60))
    load(con, root, {day: path})
    # As if killed between the commit and the rename: the old file still disagrees.
    raw_layer.day_file(root, day).write_bytes(old_file)
    raw_layer.temp_path(raw_layer.day_file(root, day).parent, "tmp").write_bytes(b"half")
    assert files_rows(con, root) == [(day, 1, 10)]
    # A day folder the ledger does not know (e.g. its rows were removed) goes away.
    orphan = raw_layer.day_file(root, "2025-10-31")
    orphan.parent.mkdir()
    orphan.write_bytes(b"not parquet")

    assert raw_layer.sync_raw_layer(con, root) == [day]
    assert files_rows(con, root) == table_rows(con) == [(day, 5, 50), (day, 6, 60)]
    assert not orphan.parent.exists()
    assert not list(root.rglob(f"{raw_layer.TEMP_PREFIX}*"))  # the killed load's temp file

    raw_layer.day_file(root, day).write_bytes(b"truncated")  # a file cut short by a crash
    assert raw_layer.sync_raw_layer(con, root) == [day]
    assert files_rows(con, root) == table_rows(con)


def test_a_broken_file_among_several_leaves_no_file_behind(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """When one file fails, the others' temp files go too."""
    root = tmp_path / "raw" / "transactions"
    files = {
        day: land(tmp_path, day, ROW.format(user=user, purchase=10), "broken,row")
        for user, day in enumerate(["2025-11-01", "2025-11-02", "2025-11-04", "2025-11-05"])
    }
    files["2025-11-03"] = tmp_path / "landing" / "2025-11-03.csv"
    files["2025-11-03"].write_text("User_ID;Product_ID\n1;P00000001\n")
    with pytest.raises(LandingFileError, match=r"2025-11-03\.csv: the header is not comma"):
        load(con, root, dict(sorted(files.items())))
    assert table_rows(con) == []
    assert con.execute("SELECT count(*) FROM raw.rejected_transactions").fetchone() == (0,)
    assert [path for path in root.parent.rglob("*") if path.is_file()] == []  # nor staged
