"""Nothing recorded is lost on a clean shutdown: queued request logs are written before the process exits."""

import httpx
import pytest

from analytics.models import RequestLog
from core.audit import SYSTEM
from knoxcall.lib.servers import SERVERS
from routing.services import route_create
from tests.support.access import allow_local_callers
from tests.support.gateway_process import GatewayProcess


@pytest.mark.parametrize("server", SERVERS)
def test_it_writes_every_queued_log_on_a_clean_shutdown(environments, upstream, server):
    allow_local_callers(route_create(actor=SYSTEM, name="Demo", slug="demo", target_base_url=upstream.url))
    # Nothing is flushed on the way: every row must come from the shutdown flush.
    quiet = {"KNOXCALL_RECORDER_FLUSH_SECONDS": "3600", "KNOXCALL_RECORDER_BATCH_SIZE": "100000"}
    gateway = GatewayProcess(quiet, server=server).start()
    try:
        answers = [httpx.get(f"{gateway.url}/n/{i}", headers={"x-knoxcall-route": "demo"}) for i in range(25)]
        ids = {answer.headers["x-request-id"] for answer in answers}
        assert RequestLog.objects.filter(request_id__in=ids).count() == 0  # still queued in the gateway
    finally:
        gateway.stop()
    assert set(RequestLog.objects.filter(request_id__in=ids).values_list("request_id", flat=True)) == ids
