"""Known traffic through the real gateway: a mix of statuses and latencies per environment."""

import time
from concurrent.futures import ThreadPoolExecutor

from analytics import recorder
from analytics.models import RequestLog

# environment -> [(path, expected status, count)]; the upstream answers /status/<code> and /sleep/<ms>.
MIX: dict[str, list[tuple[str, int, int]]] = {
    "production": [
        ("/echo", 200, 16),
        ("/sleep/260", 200, 2),
        ("/status/500", 500, 1),
        ("/status/429", 429, 1),
    ],
    "staging": [("/echo", 200, 20), ("/sleep/365", 200, 3), ("/status/502", 502, 4), ("/status/401", 401, 3)],
    "development": [("/echo", 200, 30), ("/sleep/130", 200, 4), ("/status/503", 503, 6)],
}
# Each sleep sits just above a histogram bound, so gateway overhead has most of a bucket's width to spare.
SLOW_MS = {"production": 260, "staging": 365, "development": 130}


def expected(mix: dict = MIX) -> dict[str, dict]:
    figures = {}
    for env, calls in mix.items():
        total = sum(n for _, _, n in calls)
        errors = sum(n for _, status, n in calls if status >= 500)
        success = sum(n for _, status, n in calls if status < 400)
        figures[env] = {
            "total": total,
            "error_rate": errors / total,
            "success_rate": success / total,
            "rate_limited": sum(n for _, s, n in calls if s == 429),
            "unauthorized": sum(n for _, s, n in calls if s in (401, 403)),
        }
    return figures


def send_mix(gateway, route: str, mix: dict = MIX) -> int:
    jobs = [(env, path, status) for env, calls in mix.items() for path, status, n in calls for _ in range(n)]

    def call(job):
        env, path, status = job
        response = gateway.get(path, route=route, environment=env)
        assert response.status_code == status, (job, response.status_code, response.text[:200])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(call, jobs))
    return len(jobs)


def wait_for_logs(count: int, timeout: float = 15.0) -> None:
    """The gateway records after answering; wait until the recorder has written every row."""
    deadline = time.monotonic() + timeout
    while RequestLog.objects.count() < count and time.monotonic() < deadline:
        recorder.flush()
        time.sleep(0.05)
    assert RequestLog.objects.count() == count
