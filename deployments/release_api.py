"""/v1 endpoints of releases: start and list per (route, environment), read one with both sides' measured
figures, its checks, and the actions (promote, pause, resume, abort, switch, switch-back, finalize).

The writes are routing.releases' services; a move the release's state does not allow answers 409
`release_transition_refused`, a second active release 409 `release_in_progress`.
"""

from rest_framework import serializers

from core.http.api import ApiView, WriteSerializer, validated
from core.http.api_schema import api_doc
from environments.selectors import environment_or_404
from routing import releases
from routing.models import CANDIDATE_FIELDS, DEFAULT_ANALYSIS, Release, ReleaseStrategy, StickyBy
from routing.selectors import route_or_404

from .release_selectors import release_checks, release_history, release_or_404, release_sides


class StepSerializer(WriteSerializer):
    weight_percent = serializers.FloatField(min_value=0, max_value=100)
    hold_seconds = serializers.IntegerField(min_value=0, max_value=7 * 86_400, default=600)
    needs_approval = serializers.BooleanField(default=False, help_text="After its hold, wait for a person.")


class CandidateSerializer(WriteSerializer):
    target_base_url = serializers.CharField(max_length=2048)
    timeout_ms = serializers.IntegerField(required=False)
    inject_headers_json = serializers.DictField(required=False, child=serializers.CharField(allow_blank=True))
    inject_body_json = serializers.DictField(required=False)


class AnalysisSerializer(WriteSerializer):
    min_calls = serializers.IntegerField(min_value=1, required=False)
    max_error_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    min_effect = serializers.FloatField(min_value=0, max_value=1, required=False)
    max_p95_ratio = serializers.FloatField(min_value=1, required=False)
    inconclusive_timeout_seconds = serializers.IntegerField(min_value=15, required=False)


assert set(AnalysisSerializer().fields) == set(DEFAULT_ANALYSIS)
assert set(CandidateSerializer().fields) == set(CANDIDATE_FIELDS)


class ReleaseStartSerializer(WriteSerializer):
    strategy = serializers.ChoiceField(ReleaseStrategy.values, default=ReleaseStrategy.CANARY)
    candidate = CandidateSerializer(
        help_text="What the candidate side serves; the rest is the environment's."
    )
    steps = StepSerializer(
        many=True,
        required=False,
        help_text="Default 5 → 25 → 50 → 100 % (canary), each held 10 minutes; blue-green: 0 (preview), 100.",
    )
    sticky = serializers.ChoiceField(StickyBy.values, required=False, help_text="Default api_key (canary).")
    sticky_header = serializers.CharField(max_length=100, required=False, allow_blank=True)
    analysis = AnalysisSerializer(required=False)
    allow_variant_header = serializers.BooleanField(
        required=False,
        help_text="Let x-knoxcall-variant: candidate|stable pick a side (always on for blue-green).",
    )


class ReasonSerializer(WriteSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReleaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    route = serializers.CharField(source="route.slug")
    route_id = serializers.UUIDField()
    environment = serializers.CharField(source="environment.name")
    strategy = serializers.CharField()
    state = serializers.CharField(
        help_text="running, paused, waiting (for a person), rolled_back, aborted, finalized."
    )
    candidate = serializers.JSONField()
    steps = serializers.JSONField()
    current_step = serializers.IntegerField()
    weight_percent = serializers.FloatField(help_text="The candidate's share of callers now.")
    sticky = serializers.CharField()
    sticky_header = serializers.CharField()
    allow_variant_header = serializers.BooleanField()
    analysis = serializers.JSONField()
    step_started_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by_label")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SideSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField(allow_null=True)
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)
    share = serializers.FloatField(allow_null=True, help_text="Measured share of both sides' calls (0-1).")


class SidesSerializer(serializers.Serializer):
    stable = SideSerializer()
    candidate = SideSerializer()


class ReleaseDetailSerializer(ReleaseSerializer):
    sides = SidesSerializer(
        help_text="Both sides since the current step began, from the request log's rollups."
    )


class CheckSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField()
    step = serializers.IntegerField()
    verdict = serializers.CharField(help_text="pass, fail, inconclusive or waiting.")
    reason = serializers.CharField()
    numbers = serializers.JSONField()


def release_data(release: Release) -> dict:
    data = dict(ReleaseSerializer(release).data)
    data["sides"] = {side: figures.as_dict() for side, figures in release_sides(release).items()}
    return data


class RouteReleaseListView(ApiView):
    @api_doc(response=ReleaseSerializer, paginated=True, summary="The releases of a route in an environment.")
    def get(self, request, route: str, env: str):
        history = release_history(route_or_404(route), environment_or_404(env))
        return self.page(history, lambda r: ReleaseSerializer(r).data)

    @api_doc(
        request=ReleaseStartSerializer,
        response=ReleaseDetailSerializer,
        status=201,
        summary="Start a canary (at its first step's weight) or a blue-green release (in preview, waiting "
        "for its switch). 409 release_in_progress when one is active there.",
    )
    def post(self, request, route: str, env: str):
        spec = validated(ReleaseStartSerializer, request)
        release = releases.start_release(self.actor, route_or_404(route), environment_or_404(env), **spec)
        return self.ok(release_data(release), status=201)


class ReleaseDetailView(ApiView):
    @api_doc(
        response=ReleaseDetailSerializer, summary="A release: its state, step, weight and measured sides."
    )
    def get(self, request, release: str):
        return self.ok(release_data(release_or_404(release)))


class ReleaseAnalysisView(ApiView):
    @api_doc(response=CheckSerializer, paginated=True, summary="The release's checks, newest first.")
    def get(self, request, release: str):
        return self.page(release_checks(release_or_404(release)), lambda c: CheckSerializer(c).data)


def _action_view(name: str, summary: str, service, takes_reason: bool) -> type[ApiView]:
    """One documented POST per action (each its own path in the schema)."""

    @api_doc(
        request=ReasonSerializer if takes_reason else None, response=ReleaseDetailSerializer, summary=summary
    )
    def post(self, request, release: str):
        found = release_or_404(release)
        if takes_reason:
            reason = validated(ReasonSerializer, request).get("reason", "")
            return self.ok(release_data(service(self.actor, found, reason)))
        return self.ok(release_data(service(self.actor, found)))

    return type(f"Release{name}View", (ApiView,), {"post": post, "__module__": __name__})


ACTIONS = {
    "promote": _action_view(
        "Promote",
        "The next step (its weight, its hold from now), or finalize after the last.",
        releases.promote,
        False,
    ),
    "pause": _action_view("Pause", "Hold at the current weight until resumed.", releases.pause, True),
    "resume": _action_view("Resume", "Running again; the step's hold starts over.", releases.resume, False),
    "abort": _action_view("Abort", "Everyone back on stable now; the release ends.", releases.abort, True),
    "switch": _action_view("Switch", "Blue-green: every new call to the candidate.", releases.switch, False),
    "switch-back": _action_view(
        "SwitchBack", "Blue-green: every new call back on stable (the preview).", releases.switch_back, True
    ),
    "finalize": _action_view(
        "Finalize",
        "The candidate becomes the environment's configuration of the route (one revision); the release "
        "ends.",
        releases.finalize,
        False,
    ),
}
