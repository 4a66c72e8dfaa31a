"""A landing file as a whole: its fingerprint, counted apart from the parser."""

import hashlib
from pathlib import Path

import pytest

from segmentation_pipeline.lib.ingest import landing_file
from segmentation_pipeline.settings import SOURCE_COLUMNS

HEADER = ",".join(SOURCE_COLUMNS)
GOOD = "1000001,P00069042,F,0-17,10,A,2,0,3,8370"


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1 << 20])
def test_fingerprint_counts_lines_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    text = f"{HEADER}\r\n{GOOD}\r\n\r\n   \n{GOOD}\n\n{GOOD}"
    path = tmp_path / "2025-11-01.csv"
    path.write_text(text)
    monkeypatch.setattr(landing_file, "FINGERPRINT_CHUNK_BYTES", chunk_bytes)
    fingerprint = landing_file.file_fingerprint(path)
    assert fingerprint.data_lines == 3
    assert fingerprint.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert not fingerprint.plain  # it has blank lines
