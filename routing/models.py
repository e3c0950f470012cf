"""Routes and their Environment Overrides.

OVERRIDABLE_FIELDS is the one place that lists what an environment may override: the base Route gets each
field as declared, RouteOverride gets a nullable copy (NULL = inherit from the base route). Adding an
overridable field is one line here plus its migration.
"""

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from environments.models import Client, Environment

SLUG_RE = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"

OVERRIDABLE_FIELDS: dict[str, models.Field] = {
    "target_base_url": models.URLField(max_length=2048),
    "enabled": models.BooleanField(default=True),
    "allowed_methods": models.JSONField(default=list, blank=True, help_text="Empty: every method."),
    "timeout_ms": models.PositiveIntegerField(
        default=30000, validators=[MinValueValidator(100), MaxValueValidator(600_000)]
    ),
    # Who may call (environments.Client assignments per environment); see the access issue.
    "requires_clients": models.BooleanField(default=True),
    # Secret injection: header name -> template, and JSON merged into a JSON request body.
    "inject_headers_json": models.JSONField(default=dict, blank=True),
    "inject_body_json": models.JSONField(default=dict, blank=True),
    # Rate limit of all calls of (route, environment); burst is extra allowance on top of the limit.
    "rate_limit_enabled": models.BooleanField(default=False),
    "rate_limit_requests": models.PositiveIntegerField(default=100, validators=[MinValueValidator(1)]),
    "rate_limit_window_sec": models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(86_400)]
    ),
    "rate_limit_burst": models.PositiveIntegerField(default=0),
}

# How a promotion (deployments) treats each overridable field, declared here so a new field gets a class in
# the same place it gets declared. Behaviour fields are what a change being promoted is made of; the
# environment-specific ones are meant to differ per environment (where to call, how much, who may), so a
# promotion shows them as expected differences and copies them only when chosen. CLIENT_ASSIGNMENTS names
# a route's client assignments in an environment, which are environment-specific too.
BEHAVIOUR_FIELDS = ("enabled", "allowed_methods", "timeout_ms", "inject_headers_json", "inject_body_json")
CLIENT_ASSIGNMENTS = "clients"
ENVIRONMENT_SPECIFIC_FIELDS = (
    "target_base_url",
    "requires_clients",
    "rate_limit_enabled",
    "rate_limit_requests",
    "rate_limit_window_sec",
    "rate_limit_burst",
    CLIENT_ASSIGNMENTS,
)
assert set(BEHAVIOUR_FIELDS) | set(ENVIRONMENT_SPECIFIC_FIELDS) == {*OVERRIDABLE_FIELDS, CLIENT_ASSIGNMENTS}


def _nullable(field: models.Field) -> models.Field:
    name, path, args, kwargs = field.deconstruct()
    kwargs.update(null=True, blank=True, default=None)
    return type(field)(*args, **kwargs)


def _abstract_model(name: str, fields: dict[str, models.Field]) -> type[models.Model]:
    meta = type("Meta", (), {"abstract": True})
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})


BaseRouteFields = _abstract_model("BaseRouteFields", {n: f.clone() for n, f in OVERRIDABLE_FIELDS.items()})
OverrideRouteFields = _abstract_model(
    "OverrideRouteFields", {n: _nullable(f) for n, f in OVERRIDABLE_FIELDS.items()}
)


class Route(BaseRouteFields):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    slug = models.CharField(
        max_length=63, unique=True, validators=[RegexValidator(SLUG_RE, "Use 1-63 of a-z, 0-9 and '-'.")]
    )
    description = models.TextField(blank=True)
    # Base only: data that must stay in its region is never failed over to another member of a group.
    residency_locked = models.BooleanField(
        default=False, help_text="Never fail over to another region; answer 503 region_unavailable instead."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a name or slug that would shadow another route's key (routing/keys.py): a route named
        like another's slug would otherwise take that route's callers, their credentials and bodies.

        Only a name or slug being set is checked, so a clash left by older rows blocks renaming into it,
        not every other edit of the routes involved (the route table already resolves it safely)."""
        from .keys import key_conflicts

        saved = Route.objects.filter(pk=self.pk).values_list("name", "slug").first() or ("", "")
        name = self.name if self.name != saved[0] else ""
        slug = self.slug if self.slug != saved[1] else ""
        others = Route.objects.exclude(pk=self.pk).values_list("pk", "name", "slug")
        problems = key_conflicts(str(self.pk), name or "", slug or "", ((str(p), n, s) for p, n, s in others))
        if problems:
            raise ValidationError(problems)


class RouteOverride(OverrideRouteFields):
    """One row per (route, environment); every NULL field inherits the base route's value."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="overrides")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="route_overrides")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["route", "environment"], name="one_override_per_environment")
        ]

    def __str__(self) -> str:
        return f"{self.route} @ {self.environment}"

    def overridden_values(self) -> dict:
        """The fields this row sets, leaving out the ones it inherits."""
        values = {name: getattr(self, name) for name in OVERRIDABLE_FIELDS}
        return {name: value for name, value in values.items() if value is not None}


class RouteClient(models.Model):
    """A client allowed to call a route in one environment (the route's Environment Clients)."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="client_assignments")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="client_assignments")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["route", "environment", "client"], name="one_assignment_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} → {self.route} @ {self.environment}"


class RouteRevision(models.Model):
    """One immutable state of a whole route (routing/document.py), numbered 1, 2, 3… per route, gap-free.

    `route_id` is deliberately no foreign key: revisions outlive the route, so a deleted route can be
    brought back from them with its id and slug. Written only by routing.revisions.
    """

    route_id = models.UUIDField(db_index=True)
    number = models.PositiveIntegerField()
    document = models.JSONField(help_text="route_document plus secret_refs; {} once the route is deleted.")
    digest = models.CharField(max_length=64, help_text="sha256 of the configuration, without secret_refs.")
    action = models.CharField(max_length=32)
    environment = models.CharField(max_length=63, blank=True, help_text="Where it aimed; blank: base.")
    fields = models.JSONField(default=list, help_text='e.g. ["timeout_ms", "overrides.production"].')
    actor_label = models.CharField(max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["route_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["route_id", "number"], name="one_number_per_route_revision")
        ]

    def __str__(self) -> str:
        return f"{self.route_id} r{self.number} ({self.action})"

    @property
    def deleted(self) -> bool:
        return not self.document


# --- Releases: canary and blue-green on one (route, environment) ------------------------------------------

# The fields a release's candidate may set: where it calls, how long it waits, what it injects. The rest of
# the environment's configuration (access, limits, methods) is the same for both sides of a split.
CANDIDATE_FIELDS = ("target_base_url", "timeout_ms", "inject_headers_json", "inject_body_json")
DEFAULT_STEPS = [
    {"weight_percent": 5.0, "hold_seconds": 600, "needs_approval": False},
    {"weight_percent": 25.0, "hold_seconds": 600, "needs_approval": False},
    {"weight_percent": 50.0, "hold_seconds": 600, "needs_approval": False},
    {"weight_percent": 100.0, "hold_seconds": 600, "needs_approval": False},
]
DEFAULT_ANALYSIS = {
    "min_calls": 50,  # no verdict below this many candidate calls since the step began
    "max_error_rate": 0.5,  # absolute: a candidate above it fails at once
    "min_effect": 0.05,  # the candidate's error rate must exceed stable's by this much to fail on errors
    "max_p95_ratio": 1.2,  # candidate P95 against stable P95
    "inconclusive_timeout_seconds": 900,  # inconclusive this long: pause and tell someone, never promote
}


def _default_steps() -> list[dict]:
    return [dict(step) for step in DEFAULT_STEPS]


def _default_analysis() -> dict:
    return dict(DEFAULT_ANALYSIS)


def _new_salt() -> str:
    """32 random bytes, hex: each release draws its own cohort of callers."""
    return secrets.token_hex(32)


class ReleaseStrategy(models.TextChoices):
    CANARY = "canary", "Canary"
    BLUE_GREEN = "blue_green", "Blue-green"


class ReleaseState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    WAITING = "waiting", "Waiting for approval"
    ROLLED_BACK = "rolled_back", "Rolled back"
    ABORTED = "aborted", "Aborted"
    FINALIZED = "finalized", "Finalized"


ACTIVE_RELEASE_STATES = (ReleaseState.RUNNING, ReleaseState.PAUSED, ReleaseState.WAITING)


class StickyBy(models.TextChoices):
    API_KEY = "api_key", "API key"
    CLIENT_IP = "client_ip", "Client IP"
    HEADER = "header", "Request header"
    NONE = "none", "None (each call drawn at random)"


class Release(models.Model):
    """A candidate configuration of one (route, environment) served to a share of callers beside the stable
    one (canary), or held ready and switched to at once (blue-green). Written only by routing.releases.

    `weight_percent` is what the proxy serves now; `steps` are the plan. The route table carries active
    releases (running, paused, waiting) with both sides resolved; a finished one serves stable only.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="releases")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="releases")
    strategy = models.CharField(max_length=16, choices=ReleaseStrategy.choices)
    state = models.CharField(max_length=16, choices=ReleaseState.choices, default=ReleaseState.RUNNING)
    candidate = models.JSONField(help_text="target_base_url, and optionally timeout_ms and injection.")
    steps = models.JSONField(default=_default_steps)
    current_step = models.PositiveSmallIntegerField(default=0)
    weight_percent = models.FloatField(default=0.0, help_text="Share of callers on the candidate now, 0-100.")
    sticky = models.CharField(max_length=16, choices=StickyBy.choices, default=StickyBy.API_KEY)
    sticky_header = models.CharField(max_length=100, blank=True)
    salt = models.CharField(max_length=64, default=_new_salt, editable=False)
    # Whether a caller's `x-knoxcall-variant: candidate|stable` picks its side (smoke tests); always on for
    # blue-green, whose preview is reachable no other way.
    allow_variant_header = models.BooleanField(default=False)
    analysis = models.JSONField(default=_default_analysis)
    step_started_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it paused, waits, or ended.")
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.UUIDField(null=True, blank=True)
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["route", "environment"],
                condition=models.Q(state__in=["running", "paused", "waiting"]),
                name="one_active_release",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_strategy_display()} of {self.route} @ {self.environment} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_RELEASE_STATES


class CheckVerdict(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    WAITING = "waiting", "Waiting"


class ReleaseCheck(models.Model):
    """One judgement of a release's candidate against its stable side, kept with its numbers and reason."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(auto_now_add=True)
    step = models.PositiveSmallIntegerField()
    verdict = models.CharField(max_length=16, choices=CheckVerdict.choices)
    reason = models.TextField(blank=True)
    numbers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["release", "-checked_at"], name="release_check_recent")]

    def __str__(self) -> str:
        return f"{self.release_id} step {self.step}: {self.verdict}"
