"""Prometheus counters of one service process: requests, errors by type, latency, tokens.

Text exposition format 0.0.4, written by hand (a few counters do not need a client library).
With ``--workers N`` each process counts its own requests; scrape them all or run one.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter

# Latency histogram bucket bounds, seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{{{inner}}}"


class Metrics:
    """Thread-safe counters, rendered by :meth:`render`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._errors: Counter[tuple[str, str]] = Counter()
        self._tokens: Counter[str] = Counter()
        self._buckets: dict[str, list[int]] = {}
        self._sum: Counter[str] = Counter()

    def observe(
        self, endpoint: str, status: int, seconds: float, tokens: int = 0, error: str | None = None
    ) -> None:
        """Count one answered request: its status, latency (seconds), tokens counted, error."""
        with self._lock:
            self._requests[endpoint, status] += 1
            if error is not None:
                self._errors[endpoint, error] += 1
            self._tokens[endpoint] += tokens
            counts = self._buckets.setdefault(endpoint, [0] * (len(BUCKETS) + 1))
            counts[bisect_left(BUCKETS, seconds)] += 1
            self._sum[endpoint] += seconds

    def render(self) -> str:
        """The counters in Prometheus text format."""
        with self._lock:
            lines = [
                "# HELP mmtok_requests_total Requests answered, by endpoint and HTTP status.",
                "# TYPE mmtok_requests_total counter",
            ]
            for (endpoint, status), n in sorted(self._requests.items()):
                lines.append(
                    f"mmtok_requests_total{_labels(endpoint=endpoint, status=str(status))} {n}"
                )
            lines += [
                "# HELP mmtok_errors_total Requests refused, by endpoint and error type.",
                "# TYPE mmtok_errors_total counter",
            ]
            for (endpoint, error), n in sorted(self._errors.items()):
                lines.append(f"mmtok_errors_total{_labels(endpoint=endpoint, type=error)} {n}")
            lines += [
                "# HELP mmtok_tokens_counted_total Input tokens counted, by endpoint.",
                "# TYPE mmtok_tokens_counted_total counter",
            ]
            for endpoint, n in sorted(self._tokens.items()):
                lines.append(f"mmtok_tokens_counted_total{_labels(endpoint=endpoint)} {n}")
            lines += [
                "# HELP mmtok_request_duration_seconds Time to answer a request, seconds.",
                "# TYPE mmtok_request_duration_seconds histogram",
            ]
            for endpoint, counts in sorted(self._buckets.items()):
                total = 0
                for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    total += n
                    le = _labels(endpoint=endpoint, le=bound)
                    lines.append(f"mmtok_request_duration_seconds_bucket{le} {total}")
                own = _labels(endpoint=endpoint)
                lines.append(f"mmtok_request_duration_seconds_sum{own} {self._sum[endpoint]:.6f}")
                lines.append(f"mmtok_request_duration_seconds_count{own} {total}")
        return "\n".join(lines) + "\n"
