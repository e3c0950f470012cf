#!/usr/bin/env python
"""Proxy benchmark: the gateway against nginx proxy_pass, measured side by side in one run.

Starts, all on 127.0.0.1: an nginx upstream answering a small JSON body, an nginx proxy_pass to it (the
reference), and the gateway (one process) under each server candidate, then drives each with wrk at 1
and 32 connections and prints req/s, p50/p99 latency and ratios. Figures only, never a test.

Server candidates (--servers): `uvicorn` is what `make run` starts (knoxcall/lib/servers.py: httptools with
the gateway's header limits); `uvicorn-h11`, `granian` and `daphne` are the candidates README "Server choice"
compares it with (each measured only when installed: `pip install granian daphne`).

Gateway scenarios (bench/setup_gateway.py): "every check" = route table, environment, API key and client-IP
allowlist, route and key rate limits (in memory, or Redis with --redis), a secret injected into a header,
path checks and request logging — once per upstream client (aiohttp, httpx); "IP check only" = the same
gateway with authentication by client IP and nothing else, the baseline for the cost of the checks.

Needs Debian's nginx and wrk: `apt-get install nginx-light wrk`. Run with `make bench` or
`.venv/bin/python bench/proxy.py [--duration 5] [--rounds 1] [--clients aiohttp,httpx] [--redis URL]`.
"""

import argparse
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
error_log {dir}/nginx-error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream origin {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ default_type application/json; return 200 '{{"ok":true,"service":"bench-upstream"}}'; }}
    }}
    server {{
        listen 127.0.0.1:{nginx_proxy};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port}")


def wrk(url: str, connections: int, duration: int, headers: dict[str, str]) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {
        "rps": rps,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def prepare_gateway_data(upstream_port: int, env: dict) -> str:
    """Migrate the bench data dir and create its routes (bench/setup_gateway.py); returns the API key."""
    setup = [sys.executable, str(ROOT / "bench" / "setup_gateway.py"), f"http://127.0.0.1:{upstream_port}"]
    done = subprocess.run(setup, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench set-up failed:\n{done.stderr}")
    return done.stdout.strip()


def gateway_command(server: str, port: int) -> list[str]:
    """The command for a server candidate; `uvicorn` is exactly what `make run` starts."""
    from knoxcall.lib.servers import APP, Limits, server_command

    if server == "uvicorn":
        return server_command("uvicorn", "127.0.0.1", port, Limits(), quiet=True)
    address = ["--host", "127.0.0.1", "--port", str(port)]
    return {
        "uvicorn-h11": [sys.executable, "-m", "uvicorn", APP, *address, "--http", "h11", "--no-access-log"]
        + ["--no-proxy-headers", "--log-level", "warning"],
        "granian": [sys.executable, "-m", "granian", "--interface", "asgi", *address, "--http", "1"]
        + ["--no-access-log", "--log-level", "warning", APP],
        "daphne": [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP],
    }[server]


def installed(server: str) -> bool:
    module = {"uvicorn-h11": "h11"}.get(server, server)
    return importlib.util.find_spec(module) is not None


def measure(name: str, url: str, args, headers: dict | None = None) -> dict:
    headers = headers or {}
    wrk(url, 8, 1, headers)  # warm-up: pools, route table, JIT-free but cache-warm
    result = {}
    for connections in (1, 32):
        rounds = [wrk(url, connections, args.duration, headers) for _ in range(args.rounds)]
        result[connections] = {key: median(r[key] for r in rounds) for key in rounds[0]}
    print(f"  measured {name}", file=sys.stderr, flush=True)
    return result


def scenarios(raw_key: str, clients: list[str]) -> list[tuple[str, str, dict]]:
    """(label, upstream client, headers): every check on with each client, and the plain route as baseline."""
    staging = {"x-knoxcall-environment": "staging"}
    full = {"x-knoxcall-route": "full", "x-knoxcall-key": raw_key, **staging}
    plain = {"x-knoxcall-route": "plain", **staging}
    chosen = [(f"every check, {client}", client, full) for client in clients]
    return chosen + [(f"IP check only, {clients[0]}", clients[0], plain)]


def measure_interleaved(targets: dict[str, tuple[str, dict]], args) -> dict[str, dict]:
    """Every target in turn within each round, so a busy machine's drift hits them all alike."""
    for url, headers in targets.values():
        wrk(url, 8, 1, headers)  # warm-up: pools, route table
    runs: dict[str, dict[int, list]] = {name: {1: [], 32: []} for name in targets}
    for _ in range(args.rounds):
        for connections in (1, 32):
            for name, (url, headers) in targets.items():
                runs[name][connections].append(wrk(url, connections, args.duration, headers))
    print(f"  measured {', '.join(targets)}", file=sys.stderr, flush=True)
    return {
        name: {c: {key: median(r[key] for r in rounds) for key in rounds[0]} for c, rounds in by_c.items()}
        for name, by_c in runs.items()
    }


def start_gateways(servers: list[str], client: str, env: dict) -> dict[str, tuple[int, subprocess.Popen]]:
    started = {}
    for server in servers:
        port = free_port()
        process = subprocess.Popen(
            gateway_command(server, port),
            cwd=ROOT,
            env={**env, "PORT": str(port), "KNOXCALL_UPSTREAM_CLIENT": client},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started[server] = (port, process)
    for port, _ in started.values():
        wait_for_port(port, timeout=60)
    return started


def stop(processes) -> None:
    processes = list(processes)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(10)


def measure_servers(servers: list[str], scenario: tuple, env: dict, args, reference=None) -> dict:
    """One scenario on every server at once (one process each), measured interleaved, with the reference."""
    label, client, headers = scenario
    started = start_gateways(servers, client, env)
    targets = dict([reference] if reference else [])
    for server, (port, _) in started.items():
        targets[f"{server}: {label}"] = (f"http://127.0.0.1:{port}/api/users?x=1", headers)
    try:
        return measure_interleaved(targets, args)
    finally:
        stop(process for _, process in started.values())


def measure_ceiling(upstream_port: int, port: int, env: dict, args) -> dict:
    """A bare ASGI + aiohttp forwarder (bench/ceiling_app.py): the ceiling for Python on this machine."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.ceiling_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    ceiling_env = {**env, "BENCH_UPSTREAM": f"http://127.0.0.1:{upstream_port}"}
    process = subprocess.Popen(command, cwd=ROOT, env=ceiling_env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        return measure("ceiling", f"http://127.0.0.1:{port}/api/users", args)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def run(args) -> None:
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install nginx-light wrk")
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-"))
    upstream_port, nginx_port, gateway_port = free_port(), free_port(), free_port()
    (work / "nginx.conf").write_text(
        NGINX_CONF.format(dir=work, upstream=upstream_port, nginx_proxy=nginx_port)
    )
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    processes = [subprocess.Popen([nginx_bin, "-c", str(work / "nginx.conf"), "-p", str(work)])]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "knoxcall.settings",
        "KNOXCALL_DATA_DIR": str(work / "var"),
        "PORT": str(gateway_port),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": args.redis,
        "KNOXCALL_RATE_LIMIT_PREFIX": f"knoxcall-bench-{os.getpid()}:",
    }
    results: dict[str, dict] = {}
    try:
        wait_for_port(upstream_port)
        raw_key = prepare_gateway_data(upstream_port, env)
        results["upstream direct"] = measure("upstream", f"http://127.0.0.1:{upstream_port}/", args)
        results["uvicorn: bare ASGI + aiohttp"] = measure_ceiling(upstream_port, gateway_port, env, args)
        servers = [server for server in args.servers.split(",") if installed(server)]
        skipped = set(args.servers.split(",")) - set(servers)
        if skipped:
            print(f"  not installed, skipped: {', '.join(sorted(skipped))}", file=sys.stderr)
        reference = ("nginx proxy_pass", (f"http://127.0.0.1:{nginx_port}/", {}))
        for scenario in scenarios(raw_key, args.clients.split(",")):
            results.update(measure_servers(servers, scenario, env, args, reference))
            reference = None  # nginx is measured alongside the first scenario
    finally:
        for process in processes:
            process.terminate()
            process.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    report(results)


def report(results: dict[str, dict]) -> None:
    reference = results["nginx proxy_pass"][32]["rps"]
    results = {"nginx proxy_pass": results.pop("nginx proxy_pass"), **results}
    base_p50 = results["upstream direct"][1]["p50"]
    print(
        f"\n{'configuration':32} {'req/s @32':>10} {'x nginx':>8} {'p50/p99 @32 ms':>16} "
        f"{'req/s @1':>9} {'p50/p99 @1 ms':>15} {'added p50 @1':>13} {'non-2xx':>8}"
    )
    for name, result in results.items():
        at32, at1 = result[32], result[1]
        print(
            f"{name:32} {at32['rps']:>10,.0f} {at32['rps'] / reference:>8.3f} "
            f"{at32['p50']:>7.2f}/{at32['p99']:<8.2f} {at1['rps']:>9,.0f} "
            f"{at1['p50']:>6.2f}/{at1['p99']:<8.2f} "
            f"{at1['p50'] - base_p50:>13.2f} {at32['non2xx'] + at1['non2xx']:>8}"
        )
    print(
        "\nratios are against nginx proxy_pass at 32 connections, measured in this same run (nginx and the"
        " servers of each scenario running at once, measured in turn within every round);"
        " 'added p50 @1' is the median latency over hitting the upstream directly."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="wrk runs per figure (median)")
    parser.add_argument("--servers", default="uvicorn,uvicorn-h11,granian,daphne")
    parser.add_argument("--clients", default="aiohttp,httpx", help="upstream clients to compare")
    parser.add_argument("--redis", default="", help="REDIS_URL for the rate limiter (default: in memory)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
