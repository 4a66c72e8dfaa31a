"""`segmentation import` on files built with the real dataset's column layouts."""

import csv
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from segmentation_pipeline.lib.ingest.landing_file import LandingFileError
from segmentation_pipeline.lib.ingest.real_file import git_blob_sha, identify, import_real_file
from segmentation_pipeline.lib.sample import load_facts
from segmentation_pipeline.settings import SOURCE_COLUMNS

ROWS = 3000


def real_rows(rows: int = ROWS) -> list[list[str]]:
    """Rows shaped like the published file: ten columns, text as in the CSV."""
    return [
        [
            str(1000001 + i % 300),
            f"P00{i % 997:04d}42",
            "FM"[i % 2],
            ["0-17", "18-25", "26-35", "36-45", "46-50", "51-55", "55+"][i % 7],
            str(i % 21),
            "ABC"[i % 3],
            ["0", "1", "2", "3", "4+"][i % 5],
            str(i % 2),
            str(1 + i % 20),
            str(100 + i),
        ]
        for i in range(rows)
    ]


def write_walmart_data(path: Path) -> list[list[str]]:
    rows = real_rows()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SOURCE_COLUMNS)
        writer.writerows(rows)
    return rows


def write_train_variant(path: Path) -> list[list[str]]:
    """train.csv: Product_Category_2/3 after Product_Category, mostly empty, CRLF lines."""
    rows = real_rows()
    header = [*SOURCE_COLUMNS[:9], "Product_Category_2", "Product_Category_3", "Purchase"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow([*row[:9], "8.0" if i % 3 == 0 else "", "", row[9]])
    return rows


def write_lower_case_header(path: Path) -> list[list[str]]:
    """An export that lower-cases the column names: the same columns."""
    rows = write_walmart_data(path)
    header, rest = path.read_text().split("\n", 1)
    path.write_text(header.lower() + "\n" + rest)
    return rows


def landed_rows(landing: Path) -> Counter:
    landed: Counter = Counter()
    for path in sorted(landing.glob("*.csv")):
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == list(SOURCE_COLUMNS)
            landed.update(tuple(row) for row in reader)
    return landed


@pytest.mark.parametrize(
    ("writer", "ignored"),
    [
        (write_walmart_data, []),
        (write_train_variant, ["Product_Category_2", "Product_Category_3"]),
        (write_lower_case_header, []),
    ],
)
def test_every_row_lands_once_over_the_month(tmp_path: Path, writer, ignored) -> None:
    source = tmp_path / "source.csv"
    rows = writer(source)
    summary = import_real_file(source, tmp_path / "landing")
    assert summary.rows == ROWS
    assert summary.ignored_columns == ignored
    assert summary.files[0].stem == "2025-11-01"
    assert len(summary.files) == 28
    assert landed_rows(tmp_path / "landing") == Counter(tuple(row) for row in rows)
    per_day = [len(path.read_text().splitlines()) - 1 for path in summary.files]
    # Black Friday week (last five days) weighs three ordinary days.
    assert min(per_day[-5:]) > 2 * max(per_day[:-5])


def test_import_is_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "walmart_data.csv"
    write_walmart_data(source)
    first = import_real_file(source, tmp_path / "a")
    second = import_real_file(source, tmp_path / "b")
    assert [path.read_bytes() for path in first.files] == [
        path.read_bytes() for path in second.files
    ]


def test_blob_hash_matches_git_and_identifies_published_copies(tmp_path: Path) -> None:
    source = tmp_path / "walmart_data.csv"
    write_walmart_data(source)
    expected = subprocess.run(
        ["git", "hash-object", str(source)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_blob_sha(source) == expected
    assert identify(expected) is None
    for name, sha in load_facts()["git_blob_sha"].items():
        assert identify(sha) == name


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "other.csv"
    source.write_text("a,b\n1,2\n")
    with pytest.raises(LandingFileError, match=r"other\.csv: required columns are missing"):
        import_real_file(source, tmp_path / "landing")
    assert not list((tmp_path / "landing").glob("*.csv"))


def test_a_file_with_a_header_only_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "walmart_data.csv"
    source.write_text(",".join(SOURCE_COLUMNS) + "\n")
    with pytest.raises(LandingFileError, match=r"walmart_data\.csv: the file has no data rows"):
        import_real_file(source, tmp_path / "landing")
    assert not list((tmp_path / "landing").glob("*"))
