"""Run Chronicle's benchmarks: ``python -m bench.run [--quick] [--backend …] [--cases …]``.

Every case runs on each backend asked for, each contender on a place of its own, measured
``--repeat`` times interleaved. The table is printed and written, with the machine it ran on, to
``bench/results/latest.json`` (and as Markdown to ``bench/results/latest.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console

from bench import machine, report
from bench.cases import Case, Scale, all_cases
from bench.harness import Result, run_benchmark
from bench.places import PostgresSite, Site, SQLiteSite

RESULTS = Path(__file__).parent / "results"
console = Console()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Chronicle beside the raw driver and the eventsourcing library, in one run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller figures, finishes in under a minute"
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "all"), default="all", help="default: all"
    )
    parser.add_argument(
        "--cases",
        default="all",
        help="comma-separated case numbers or names (e.g. 1,2,scan-log); default: all but "
        "the scale case (12, scale: run only when named)",
    )
    parser.add_argument(
        "--scale-sizes",
        default=None,
        help="the scale case's log sizes, comma-separated (default 1000000,5000000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="interleaved repetitions (default 3; 5 in full)"
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="benchmark database (default: CHRONICLE_BENCH_POSTGRES_URL or "
        "postgresql://postgres@127.0.0.1:5432/chronicle_bench; created if missing)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    return parser.parse_args(argv)


def _select(cases: list[Case], wanted: str) -> list[Case]:
    if wanted == "all":
        return [case for case in cases if not case.only_when_named]
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    chosen = [case for case in cases if str(case.number) in names or case.key in names]
    unknown = names - {str(case.number) for case in chosen} - {case.key for case in chosen}
    if unknown:
        known = ", ".join(f"{case.number} ({case.key})" for case in cases)
        raise SystemExit(f"unknown case(s) {', '.join(sorted(unknown))}; known: {known}")
    return chosen


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise SystemExit(
            f"--scale-sizes takes numbers of events, e.g. 1000000,5000000: {text!r}"
        ) from None
    if not sizes or any(size < 1_000 for size in sizes) or list(sizes) != sorted(set(sizes)):
        raise SystemExit("--scale-sizes: increasing sizes of at least 1000 events each")
    return sizes


def _sites(backend: str, postgres_url: str | None) -> list[Site]:
    sites: list[Site] = []
    if backend in ("sqlite", "all"):
        sites.append(SQLiteSite())
    if backend in ("postgresql", "all"):
        sites.append(PostgresSite(postgres_url))
    return sites


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scale = Scale.for_mode(args.quick)
    if args.scale_sizes is not None:
        scale = dataclasses.replace(scale, scale_sizes=_sizes(args.scale_sizes))
    repeat = args.repeat or (3 if args.quick else 5)
    if repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    cases = _select(all_cases(), args.cases)
    sites = _sites(args.backend, args.postgres_url)
    postgres_version = next(
        (site.server_version() for site in sites if isinstance(site, PostgresSite)), None
    )
    results: list[Result] = []
    failures: list[str] = []
    started = time.perf_counter()
    try:
        for site in sites:
            for case in cases:
                case_start = time.perf_counter()
                try:
                    with console.status(
                        f"[bold]{site.backend}[/]: case {case.number}, {case.title}"
                    ):
                        for benchmark in case.build(site, scale):
                            results.append(run_benchmark(benchmark, repeat))
                except Exception as exc:  # one broken case must not lose the others' figures
                    failures.append(f"{site.backend}: case {case.number}: {exc!r}")
                    console.print_exception()
                    continue
                console.log(
                    f"{site.backend}: case {case.number} done in "
                    f"{time.perf_counter() - case_start:.1f}s"
                )
    finally:
        for site in sites:
            site.close()
    elapsed = time.perf_counter() - started
    results.sort(key=lambda result: (result.case, result.backend))
    described = machine.describe(postgres_version)
    mode = "quick" if args.quick else "full"
    caption = (
        f"{mode} run, median (min-max) of {repeat} interleaved runs, {elapsed:.0f}s; "
        f"ratios: Chronicle's speed relative to the reference (>1: Chronicle faster). "
        f"{machine.one_line(described)}"
    )
    console.print(report.rich_table(results, caption))
    document = report.document(results, machine=described, mode=mode, repeat=repeat)
    document["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["elapsed_seconds"] = round(elapsed, 1)
    document["failures"] = failures
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    args.output.with_suffix(".md").write_text(
        f"{caption}\n\n" + report.markdown(results), encoding="utf-8"
    )
    console.print(f"written to {args.output} and {args.output.with_suffix('.md')}")
    for failure in failures:
        console.print(f"[bold red]failed:[/] {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
