"""The results as a rich table, as Markdown (for the README) and as JSON."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from bench.harness import CONTENDERS, Figure, Result


def _number(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,.0f}"


def _figure(figure: Figure | None, unit: str) -> str:
    if figure is None:
        return "-"
    return (
        f"{_number(figure.median, unit)} "
        f"({_number(figure.minimum, unit)}-{_number(figure.maximum, unit)})"
    )


def _ratio(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.2f}x"


def rows(results: list[Result]) -> list[list[str]]:
    table = []
    for result in results:
        table.append(
            [
                str(result.case),
                result.title,
                result.backend,
                result.unit,
                *(_figure(result.figures.get(name), result.unit) for name in CONTENDERS),
                _ratio(result.ratios.get("raw")),
                _ratio(result.ratios.get("async_raw")),
                _ratio(result.ratios.get("peer")),
                "; ".join(result.notes),
            ]
        )
    return table


HEADERS = [
    "case",
    "what",
    "backend",
    "unit",
    "Chronicle",
    "Chronicle async",
    "raw driver",
    "eventsourcing",
    "Chronicle/raw",
    "async/raw",
    "Chronicle/peer",
    "notes",
]


def rich_table(results: list[Result], caption: str) -> Table:
    table = Table(title="Chronicle beside the raw driver and eventsourcing", caption=caption)
    for header in HEADERS:
        table.add_column(header, justify="right" if header not in ("what", "notes") else "left")
    for row in rows(results):
        table.add_row(*row)
    return table


def markdown(results: list[Result]) -> str:
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(results)
    ]
    return "\n".join(lines) + "\n"


def document(
    results: list[Result], *, machine: dict[str, Any], mode: str, repeat: int
) -> dict[str, Any]:
    return {
        "mode": mode,
        "repeat": repeat,
        "ratio_meaning": "Chronicle's speed relative to the reference; above 1 Chronicle is faster",
        "figures_meaning": "median (min-max) of the interleaved repetitions",
        "machine": machine,
        "results": [result.to_dict() for result in results],
    }
