"""The table version moves only for what the proxy serves: alert rules and channels rebuild nothing."""

from alerts.models import ChannelKind
from alerts.services import alert_rule_create, alert_rule_update, notification_channel_create
from core.audit import SYSTEM
from routing.proxy import snapshot
from routing.services import route_create, route_update
from tests.support.access import allow_local_callers


def test_an_alert_rule_edit_leaves_the_table_alone_and_a_route_edit_rebuilds_it(gateway, upstream):
    route = allow_local_callers(route_create(actor=SYSTEM, name="Versioned", target_base_url=upstream.url))
    gateway.reload()
    table = snapshot.current()

    rule = alert_rule_create(actor=SYSTEM, name="Errors", type="error_rate", threshold=5)
    alert_rule_update(actor=SYSTEM, rule=rule, threshold=7)
    notification_channel_create(
        actor=SYSTEM,
        name="Ops",
        kind=ChannelKind.WEBHOOK,
        config={"url": "https://hooks.example.com/x", "secret": "s"},
    )
    snapshot.refresh()
    assert snapshot.current() is table  # same version: not rebuilt

    route_update(actor=SYSTEM, route=route, timeout_ms=1234)
    snapshot.refresh()
    rebuilt = snapshot.current()
    assert rebuilt is not table and rebuilt.version > table.version
    assert gateway.get("/x", route=route.slug).status_code == 200
