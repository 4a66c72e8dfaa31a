"""Plain logic in data-flow order, testable without Dagster (nothing here imports it).

ingest -> sample -> features -> quality -> model -> segments -> reporting; a stage imports only
itself, earlier stages and the leaves (`plots`, `warehouse`, `spark`, `settings`, `glossary`).
"""
