"""RFC 9110/9112 framing and message rules: every supported server refuses at least what nginx refuses.

Each case of corpus.json goes over a raw socket, with `x-knoxcall-route`, to a route whose target is the
recording upstream. nginx_calibration.json (written by calibrate.py against nginx proxy_pass on the
development machine) says which cases nginx refuses; the gateway must refuse each of them (the server's own
4xx, the gateway's JSON 4xx, or a closed connection) with the upstream untouched, and pass the controls.
"""

import pytest

from core.audit import SYSTEM
from knoxcall.lib.servers import SERVERS
from routing.services import route_create
from tests.framing.conftest import RESULTS
from tests.framing.corpus import ROUTE_NAME, load_calibration, load_corpus, run_corpus
from tests.support.access import allow_local_callers
from tests.support.gateway_process import GatewayProcess


def test_it_has_a_calibrated_corpus_of_forty_cases_or_more():
    corpus, calibration = load_corpus(), load_calibration()["cases"]
    assert len(corpus) >= 40
    assert {case["id"] for case in corpus} == set(calibration)


@pytest.mark.parametrize("server", SERVERS)
def test_it_refuses_everything_nginx_refuses_with_the_upstream_untouched(environments, upstream, server):
    route = route_create(actor=SYSTEM, name="Framing", slug=ROUTE_NAME, target_base_url=upstream.url)
    allow_local_callers(route)
    gateway = GatewayProcess(server=server).start()
    try:
        outcomes, stray = run_corpus(gateway.port, upstream)
    finally:
        gateway.stop()
    RESULTS[server] = outcomes
    calibration = load_calibration()["cases"]
    let_through = {
        case_id: (outcome.status, outcome.upstream_hits)
        for case_id, outcome in outcomes.items()
        if calibration[case_id]["refused"] and not outcome.refused
    }
    controls = {
        case_id: (outcome.status, outcome.upstream_hits)
        for case_id, outcome in outcomes.items()
        if case_id.startswith("ok_") and (outcome.status != 200 or outcome.upstream_hits != 1)
    }
    assert stray == 0, "the upstream received requests no case sent (smuggled)"
    assert let_through == {}, "refused by nginx, let through by the gateway"
    assert controls == {}, "well-formed requests must pass"
