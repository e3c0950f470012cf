#!/usr/bin/env python
"""Request-log recorder throughput on PostgreSQL: rows/s through its real write path, nothing else.

    .venv/bin/python bench/recorder.py [--rows 100000] [--batch-sizes 500,2000] [--writers 1,2]

Each writer is its own process (as each gateway process has its own recorder) with DATABASE_URL pointing at
a scratch database (created, migrated, dropped afterwards): it queues --rows RequestRecords with
`analytics.recorder.record()` and times `recorder.flush()`, i.e. the same executemany the writer thread runs,
with every index of the request log maintained. With several writers the figure is their sum over the
slowest one's time: what the database takes from N gateway processes at once. Figures only.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import DEFAULT_SERVER, scratch_database  # noqa: E402

DATABASE = f"{DEFAULT_SERVER}/knoxcall_bench_recorder"


def _records(count: int):
    from routing.proxy.records import RequestRecord

    routes = [str(uuid.uuid4()) for _ in range(20)]
    key = str(uuid.uuid4())
    for i in range(count):
        yield RequestRecord(
            request_id=uuid.uuid4().hex,
            timestamp=datetime.now(UTC),
            route_id=routes[i % 20],
            route_slug=f"route-{i % 20}",
            environment=("production", "staging", "development")[i % 3],
            method="GET" if i % 4 else "POST",
            path=f"/api/users/{i}",
            query="page=2",
            status=(200, 200, 200, 404, 500)[i % 5],
            latency_ms=1.0 + i % 300,
            bytes_in=0,
            bytes_out=512,
            client_ip="127.0.0.1",
            upstream_host="upstream.internal:8080",
            error_code="",
            api_key_id=key,
            secrets_used=["BENCH_TOKEN"],
        )


def child(rows: int, batch_size: int) -> None:
    """One writer: queue `rows` records, then time the flush that writes them."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)  # a no-op after the first writer
    from analytics import recorder

    settings.PROXY_RECORDER_BATCH_SIZE = batch_size
    settings.PROXY_RECORDER_MAX_QUEUE = rows + 1
    for entry in _records(rows):
        recorder.record(entry)
    began = time.perf_counter()
    written = recorder.flush()
    print(f"{written} {time.perf_counter() - began:.3f}")


def _writers(env: dict, rows: int, batch_size: int, writers: int) -> tuple[int, float]:
    command = [sys.executable, __file__, "--child", "--rows", str(rows), "--batch-sizes", str(batch_size)]
    processes = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(writers)
    ]
    results = [process.communicate()[0].split() for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError("a writer failed")
    return sum(int(r[0]) for r in results), max(float(r[1]) for r in results)


def run(
    rows: int = 100_000, batch_sizes: tuple[int, ...] = (500, 2000), writers: tuple[int, ...] = (1, 2)
) -> list[str]:
    lines = [f"recorder on PostgreSQL: {rows:,} rows per writer, every request-log index maintained"]
    with scratch_database(DATABASE) as url:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "knoxcall.settings"}
        env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        for count in writers:
            for batch_size in batch_sizes:
                written, seconds = _writers(env, rows, batch_size, count)
                lines.append(
                    f"  {count} writer{'s' if count > 1 else ' '} batch {batch_size:>5}: "
                    f"{written:>8,} rows in {seconds:6.2f} s = {written / seconds:>8,.0f} rows/s"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows each writer queues and writes")
    parser.add_argument(
        "--batch-sizes", default="500,2000", help="PROXY_RECORDER_BATCH_SIZE values to compare"
    )
    parser.add_argument("--writers", default="1,2", help="writer processes at once (one per gateway process)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.batch_sizes.split(","))
    if args.child:
        return child(args.rows, sizes[0])
    print("\n".join(run(args.rows, sizes, tuple(int(w) for w in args.writers.split(",")))))


if __name__ == "__main__":
    main()
