"""Case 11's reading of wrk's report (no timing is asserted)."""

from __future__ import annotations

import pytest
from bench.cases.http_messages import parse_wrk

REPORT = """\
Running 3s test @ http://127.0.0.1:40000/messages
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    24.01ms    9.87ms  96.00ms   80.00%
    Req/Sec   340.11     40.02   420.00     70.00%
  Latency Distribution
     50%   22.50ms
     75%   28.00ms
     90%   35.00ms
     99%    1.20s
  2040 requests in 3.00s, 600.00KB read
  Non-2xx or 3xx responses: 7
Requests/sec:    679.41
Transfer/sec:    200.00KB
"""


def test_the_rate_the_median_and_the_p99_are_read_in_milliseconds() -> None:
    run = parse_wrk(REPORT)
    assert run.requests_per_s == pytest.approx(679.41)
    assert run.p50_ms == pytest.approx(22.5)
    assert run.p99_ms == pytest.approx(1200.0)
    assert run.non_2xx == 7


def test_a_report_without_errors_counts_no_non_2xx_answers() -> None:
    run = parse_wrk(REPORT.replace("  Non-2xx or 3xx responses: 7\n", ""))
    assert run.non_2xx == 0


def test_a_report_without_a_latency_distribution_is_refused() -> None:
    with pytest.raises(RuntimeError, match="unexpected wrk output"):
        parse_wrk("Requests/sec:    679.41\n")
