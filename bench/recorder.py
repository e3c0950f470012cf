#!/usr/bin/env python
"""Request-log recorder throughput on PostgreSQL or SQLite: rows/s through its real write path, nothing else.

    .venv/bin/python bench/recorder.py [--rows 100000] [--batch-sizes 500,2000] [--writers 1,2] [--sqlite]

Each writer is its own process (as each gateway process has its own recorder) with DATABASE_URL pointing at
a scratch database (created, migrated, dropped afterwards; with --sqlite a scratch SQLite file, as the
embedded default): it queues --rows RequestRecords with `analytics.recorder.record()` and times
`recorder.flush()`, i.e. the same COPY or executemany the writer thread runs, with every index of the
request log maintained. With several writers the figure is their sum over the slowest one's time: what the
database takes from N gateway processes at once. The CPU the writers spent per row is what each gateway
process pays for its log (on PostgreSQL the server's own work is elsewhere): on a shared machine it varies
less than the rate. Figures only.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch_db import DEFAULT_SERVER, scratch_database  # noqa: E402

DATABASE = f"{DEFAULT_SERVER}/knoxcall_bench_recorder"


def _records(count: int):
    from routing.proxy.consumer import new_request_id  # time-ordered, as the gateway's own ids are
    from routing.proxy.records import RequestRecord

    routes = [str(uuid.uuid4()) for _ in range(20)]
    key = str(uuid.uuid4())
    for i in range(count):
        yield RequestRecord(
            request_id=new_request_id(),
            timestamp=time.time(),
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
    began, cpu = time.perf_counter(), time.thread_time()
    written = recorder.flush()
    print(f"{written} {time.perf_counter() - began:.3f} {time.thread_time() - cpu:.3f}")


def _writers(env: dict, rows: int, batch_size: int, writers: int) -> tuple[int, float, float]:
    """Rows written, the slowest writer's seconds and the CPU seconds of all of them."""
    command = [sys.executable, __file__, "--child", "--rows", str(rows), "--batch-sizes", str(batch_size)]
    processes = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(writers)
    ]
    results = [process.communicate()[0].split() for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError("a writer failed")
    return (
        sum(int(r[0]) for r in results),
        max(float(r[1]) for r in results),
        sum(float(r[2]) for r in results),
    )


@contextlib.contextmanager
def _database(sqlite: bool) -> Iterator[dict]:
    """The writers' environment, on a scratch database migrated for them."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "knoxcall.settings", "PYTHONPATH": str(ROOT)}
    env["LOG_LEVEL"] = "WARNING"
    if sqlite:
        env.pop("DATABASE_URL", None)
        with tempfile.TemporaryDirectory(prefix="knoxcall-bench-recorder-") as data_dir:
            yield _migrated({**env, "KNOXCALL_DATA_DIR": data_dir})
    else:
        with scratch_database(DATABASE) as url:
            yield _migrated({**env, "DATABASE_URL": url})


def _migrated(env: dict) -> dict:
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    return env


def run(
    rows: int = 100_000,
    batch_sizes: tuple[int, ...] = (500, 2000),
    writers: tuple[int, ...] = (1, 2),
    sqlite: bool = False,
) -> list[str]:
    database = "SQLite" if sqlite else "PostgreSQL"
    lines = [f"recorder on {database}: {rows:,} rows per writer, every request-log index maintained"]
    with _database(sqlite) as env:
        for count in writers:
            for batch_size in batch_sizes:
                written, seconds, cpu = _writers(env, rows, batch_size, count)
                lines.append(
                    f"  {count} writer{'s' if count > 1 else ' '} batch {batch_size:>5}: "
                    f"{written:>8,} rows in {seconds:6.2f} s = {written / seconds:>8,.0f} rows/s, "
                    f"writer CPU {cpu / written * 1e6:5.1f} µs/row"
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
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead of PostgreSQL")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.batch_sizes.split(","))
    if args.child:
        return child(args.rows, sizes[0])
    writers = tuple(int(w) for w in args.writers.split(","))
    print("\n".join(run(args.rows, sizes, writers, args.sqlite)))


if __name__ == "__main__":
    main()
