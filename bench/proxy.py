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

Its first half is the machinery every bench script shares: the nginx upstream (start_nginx, one config),
wrk and its figures, the gateway's and the bare forwarder's processes, ports, and the bench environment.
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

# --- the machinery every bench script shares (nginx, wrk, the gateway's processes) ---------------------

# nginx in the foreground of one process, every file under the bench's temporary dir: the upstream every
# bench calls (one small JSON body for every path), and NGINX_PROXY where proxy_pass is the reference.
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
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ default_type application/json; return 200 '{{"ok":true,"service":"bench-upstream"}}'; }}
    }}
{proxy}}}
"""
NGINX_PROXY = """    upstream origin {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
"""


def nginx_binary() -> str | None:
    """Debian puts nginx in /usr/sbin, which an unprivileged PATH often leaves out."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def missing_tools() -> list[str]:
    return [tool for tool, found in (("nginx", nginx_binary()), ("wrk", shutil.which("wrk"))) if not found]


def require_tools() -> None:
    if missing := missing_tools():
        sys.exit(f"{' and '.join(missing)} missing: apt-get install nginx-light wrk")


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


def stop(processes, timeout: float = 10) -> None:
    """SIGTERM to every process at once, then wait for each (killed when it outlasts the timeout)."""
    processes = list(processes)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_nginx(work: Path, upstream_port: int, proxy_port: int | None = None) -> subprocess.Popen:
    """nginx in the foreground, its files under work: the bench upstream, answering one small JSON body to
    every path, and with proxy_port the reference proxy_pass to it; returns once they listen."""
    proxy = NGINX_PROXY.format(upstream=upstream_port, port=proxy_port) if proxy_port else ""
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=work, upstream=upstream_port, proxy=proxy))
    nginx = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(work)])
    try:
        for port in filter(None, (upstream_port, proxy_port)):
            wait_for_port(port)
    except BaseException:
        stop([nginx])
        raise
    return nginx


def wrk(url: str, connections: int, duration: int, headers: dict[str, str]) -> dict:
    """One wrk run: req/s, p50 and p99 in ms, non-2xx answers, calls answered and socket errors."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": percentile("50"),
        "p99": percentile("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def medians(runs: dict[str, dict[int, list[dict]]]) -> dict[str, dict[int, dict]]:
    """Per target and connection count, the median of each wrk figure over the rounds."""
    return {
        name: {c: {key: median(r[key] for r in rounds) for key in rounds[0]} for c, rounds in by_c.items()}
        for name, by_c in runs.items()
    }


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system, every thread) a process has used so far: /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_with_cpu(url: str, connections: int, duration: int, headers: dict, pid: int | None) -> dict:
    """wrk, plus `cpu_us`, the server process's CPU microseconds per call, when its pid is known: on a
    shared machine the steadiest figure, since other work moves req/s far more than the CPU a call takes."""
    before = cpu_seconds(pid) if pid else 0.0
    result = wrk(url, connections, duration, headers)
    if pid:
        result["cpu_us"] = (cpu_seconds(pid) - before) / max(result["requests"], 1) * 1e6
    return result


def measure_in_turn(targets: dict[str, tuple], duration: int, rounds: int) -> dict[str, dict]:
    """Every target (name: url, headers[, server pid]) in turn within each round, at 32 and then 1
    connection, so a busy machine's drift hits them all alike; the medians of the rounds."""
    for url, headers, *_ in targets.values():
        wrk(url, 8, 1, headers)  # warm-up: pools, route table, caches
    runs: dict[str, dict[int, list]] = {name: {32: [], 1: []} for name in targets}
    for round_number in range(rounds):
        for connections in (32, 1):
            for name, (url, headers, *pid) in targets.items():
                result = wrk_with_cpu(url, connections, duration, headers, pid[0] if pid else None)
                runs[name][connections].append(result)
        print(
            f"  round {round_number + 1}/{rounds} measured: {', '.join(targets)}", file=sys.stderr, flush=True
        )
    return medians(runs)


def bench_env(work: Path, **settings: str) -> dict[str, str]:
    """The environment of a bench's set-up and servers: a data dir of its own under work, warnings only,
    and rate-limit keys of this run's own in a shared Redis; settings add to it or replace."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "knoxcall.settings",
        "KNOXCALL_DATA_DIR": str(work / "var"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "KNOXCALL_RATE_LIMIT_PREFIX": f"knoxcall-bench-{os.getpid()}:",
        **settings,
    }


def prepare_gateway_data(upstream_port: int, env: dict) -> str:
    """Migrate the bench data dir and create its routes (bench/setup_gateway.py); returns the API key."""
    setup = [sys.executable, str(ROOT / "bench" / "setup_gateway.py"), f"http://127.0.0.1:{upstream_port}"]
    done = subprocess.run(setup, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench set-up failed:\n{done.stderr}")
    return done.stdout.strip()


def every_check(raw_key: str) -> dict[str, str]:
    """The headers of a call on bench/setup_gateway.py's `full` route: every check of the proxy on."""
    return {"x-knoxcall-route": "full", "x-knoxcall-key": raw_key, "x-knoxcall-environment": "staging"}


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


def spawn(command: list[str], env: dict, output=subprocess.DEVNULL) -> subprocess.Popen:
    """A server of the bench in the repo's directory, stdout and stderr both to output."""
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def start_gateway(
    env: dict, server: str = "uvicorn", output=subprocess.DEVNULL
) -> tuple[int, subprocess.Popen]:
    """The gateway under a server candidate on a free port: (port, process), not yet listening."""
    port = free_port()
    return port, spawn(gateway_command(server, port), {**env, "PORT": str(port)}, output)


def start_ceiling(upstream_port: int, env: dict, client: str = "aiohttp") -> tuple[int, subprocess.Popen]:
    """A bare ASGI forwarder on `client` (bench/ceiling_app.py), the ceiling for Python on this machine, on a
    free port: (port, process), not yet listening."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    upstream = f"http://127.0.0.1:{upstream_port}"
    return port, spawn(command, {**env, "BENCH_UPSTREAM": upstream, "BENCH_CLIENT": client})


def start_gateways(servers: list[str], client: str, env: dict) -> dict[str, tuple[int, subprocess.Popen]]:
    """One gateway process under each server, all at once, with the given upstream client; once listening."""
    env = {**env, "KNOXCALL_UPSTREAM_CLIENT": client}
    started = {server: start_gateway(env, server) for server in servers}
    try:
        for port, _ in started.values():
            wait_for_port(port, timeout=60)
    except BaseException:
        stop(process for _, process in started.values())
        raise
    return started


# --- this script: the gateway under each server candidate against nginx proxy_pass ----------------------


def installed(server: str) -> bool:
    module = {"uvicorn-h11": "h11"}.get(server, server)
    return importlib.util.find_spec(module) is not None


def scenarios(raw_key: str, clients: list[str]) -> list[tuple[str, str, dict]]:
    """(label, upstream client, headers): every check on with each client, and the plain route as baseline."""
    plain = {"x-knoxcall-route": "plain", "x-knoxcall-environment": "staging"}
    chosen = [(f"every check, {client}", client, every_check(raw_key)) for client in clients]
    return chosen + [(f"IP check only, {clients[0]}", clients[0], plain)]


def measure_servers(servers: list[str], scenario: tuple, env: dict, args, reference=None) -> dict:
    """One scenario on every server at once (one process each), measured in turn, with the reference."""
    label, client, headers = scenario
    started = start_gateways(servers, client, env)
    targets = dict([reference] if reference else [])
    for server, (port, _) in started.items():
        targets[f"{server}: {label}"] = (f"http://127.0.0.1:{port}/api/users?x=1", headers)
    try:
        return measure_in_turn(targets, args.duration, args.rounds)
    finally:
        stop(process for _, process in started.values())


def measure_ceiling(upstream_port: int, env: dict, args) -> dict:
    port, process = start_ceiling(upstream_port, env)
    try:
        wait_for_port(port)
        target = {"uvicorn: bare ASGI + aiohttp": (f"http://127.0.0.1:{port}/api/users", {})}
        return measure_in_turn(target, args.duration, args.rounds)
    finally:
        stop([process])


def run(args) -> None:
    require_tools()
    work = Path(tempfile.mkdtemp(prefix="knoxcall-bench-"))
    upstream_port, nginx_port = free_port(), free_port()
    env = bench_env(work, REDIS_URL=args.redis)
    results: dict[str, dict] = {}
    nginx = start_nginx(work, upstream_port, nginx_port)
    try:
        raw_key = prepare_gateway_data(upstream_port, env)
        direct = {"upstream direct": (f"http://127.0.0.1:{upstream_port}/", {})}
        results.update(measure_in_turn(direct, args.duration, args.rounds))
        results.update(measure_ceiling(upstream_port, env, args))
        servers = [server for server in args.servers.split(",") if installed(server)]
        skipped = set(args.servers.split(",")) - set(servers)
        if skipped:
            print(f"  not installed, skipped: {', '.join(sorted(skipped))}", file=sys.stderr)
        reference = ("nginx proxy_pass", (f"http://127.0.0.1:{nginx_port}/", {}))
        for scenario in scenarios(raw_key, args.clients.split(",")):
            results.update(measure_servers(servers, scenario, env, args, reference))
            reference = None  # nginx is measured alongside the first scenario
    finally:
        stop([nginx], timeout=5)
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
    parser.add_argument("--clients", default="http1,aiohttp,httpx", help="upstream clients to compare")
    parser.add_argument("--redis", default="", help="REDIS_URL for the rate limiter (default: in memory)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
