"""What the proxy hands on about each call, and to whom.

The proxy builds one RequestRecord per call and gives it to `record()`, which never waits. The request-log
writer (analytics.recorder) installs itself here when Django starts (AnalyticsConfig.ready): analytics sits
above routing in the dependency order, so the proxy names no analytics module. Until a writer is installed
(a bare test harness) records are counted and dropped.
"""

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    timestamp: float  # the call's instant in seconds since the epoch: time.time(), a third of datetime.now's
    route_id: str | None
    route_slug: str
    environment: str
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    bytes_in: int
    bytes_out: int
    client_ip: str | None
    upstream_host: str
    error_code: str
    api_key_id: str | None = None
    secrets_used: list[str] = field(default_factory=list)
    error_detail: str = ""
    failover_from: str = ""
    release_id: str = ""  # the release served on (route, environment), when there is one
    variant: str = ""  # its side that served the call: "stable" or "candidate"


class RecordWriter(Protocol):
    def record(self, entry: RequestRecord) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class _Unwritten:
    """The writer before one is installed: counts what it was given, so a harness can assert on it."""

    def __init__(self) -> None:
        self.entries: deque[RequestRecord] = deque(maxlen=10_000)

    def record(self, entry: RequestRecord) -> None:
        self.entries.append(entry)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


writer: RecordWriter = _Unwritten()


def install(new_writer: RecordWriter) -> None:
    global writer
    writer = new_writer


def record(entry: RequestRecord) -> None:
    writer.record(entry)
