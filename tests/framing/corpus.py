"""The framing corpus (corpus.json) sent over raw sockets, and what came of each case.

A case is refused when the server answered 4xx/5xx itself or closed the connection without an answer, and
the recording upstream saw nothing of it (the case id is in every path and an X-Case header of each request,
smuggled ones included). Shared by the nginx calibration (calibrate.py) and the gateway test.
"""

import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS_FILE = HERE / "corpus.json"
CALIBRATION_FILE = HERE / "nginx_calibration.json"
ROUTE_NAME = "framing"
ROUTE_LINE = f"X-Knoxcall-Route: {ROUTE_NAME}"
_PLACEHOLDER = re.compile(r"\{(HOST|ID|ROUTE|A:\d+|FILL:\d+(?::\d+)?)\}")


@dataclass
class Outcome:
    status: int | None  # the first final status line, None when the connection closed without one
    upstream_hits: int = 0

    @property
    def refused(self) -> bool:
        return self.upstream_hits == 0 and (self.status is None or self.status >= 400)


def load_corpus() -> list[dict]:
    return json.loads(CORPUS_FILE.read_text())


def load_calibration() -> dict:
    return json.loads(CALIBRATION_FILE.read_text())


def render(template: str, host: str, case_id: str) -> bytes:
    def fill(match: re.Match) -> str:
        token = match.group(1)
        if token == "HOST":
            return host
        if token == "ID":
            return case_id
        if token == "ROUTE":
            return ROUTE_LINE
        kind, *numbers = token.split(":")
        if kind == "A":
            return "a" * int(numbers[0])
        count, size = int(numbers[0]), int(numbers[1]) if len(numbers) > 1 else 1
        return "".join(f"X-Fill-{i}: {'v' * size}\r\n" for i in range(count))

    return _PLACEHOLDER.sub(fill, template).encode("latin-1")


def _first_status(data: bytes) -> int | None:
    """The first final (non-1xx) status in what the server sent."""
    for match in re.finditer(rb"HTTP/1\.[01] (\d{3})", data):
        status = int(match.group(1))
        if status >= 200:
            return status
    return None


def send_raw(port: int, payload: bytes, timeout: float = 8.0, idle: float = 0.5) -> int | None:
    """Send one raw request; read until the server closes, or goes quiet after answering."""
    received = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            return _first_status(received)
        while time.monotonic() < deadline:
            sock.settimeout(idle if _first_status(received) else max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    return _first_status(received)


def _case_of(entry, ids: set[str]) -> str | None:
    for name, value in entry.headers:
        if name.lower() == "x-case" and value in ids:
            return value
    match = re.search(r"/c/([a-z0-9_]+)/", entry.path)
    return match.group(1) if match and match.group(1) in ids else None


def run_corpus(port: int, upstream, corpus: list[dict] | None = None) -> tuple[dict[str, Outcome], int]:
    """Every case against the server on `port`; returns the outcomes and the upstream hits no case claims."""
    corpus = corpus or load_corpus()
    host = f"127.0.0.1:{port}"
    upstream.clear()

    def one(case: dict) -> tuple[str, Outcome]:
        return case["id"], Outcome(send_raw(port, render(case["request"], host, case["id"])))

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = dict(pool.map(one, corpus))
    time.sleep(0.5)  # a smuggled second request would be forwarded after the first answer
    stray = 0
    for entry in list(upstream.received):
        case_id = _case_of(entry, set(outcomes))
        if case_id is None:
            stray += 1
        else:
            outcomes[case_id].upstream_hits += 1
    return outcomes, stray
