"""The separation verdict in words, shared by the `segment_separation` check, the report and the
CLI summary (the figures themselves are measured at fit time, see `k_selection.py`)."""

WEAK_SEPARATION_MESSAGE = (
    "segments are weakly separated: treat them as a partition, not as natural groups"
)


def separation_sentence(separation: dict) -> str:
    """One line saying the verdict and the numbers behind it (report, check, CLI)."""
    verdict = WEAK_SEPARATION_MESSAGE if separation["weak"] else "segments are clearly separated"
    return f"{verdict} ({separation['reason']})"
