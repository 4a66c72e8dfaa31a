"""Dagster definitions (resources, assets, checks, jobs), one module or package per stage.

Each builds on `lib` for its logic and on earlier stages only; `definitions.py` gathers them.
"""
