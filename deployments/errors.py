"""The refusals of the deployments services. Each carries the /v1 status and error type it answers with
(core.http.api_errors translates any exception with `api_status` and `api_code`), and a message a person
can act on."""

from django.core.exceptions import PermissionDenied


class DeploymentError(Exception):
    api_status = 409
    api_code = "conflict"


class SelfApprovalForbidden(PermissionDenied):
    api_status = 403
    api_code = "self_approval_forbidden"


class PlanChanged(DeploymentError):
    api_code = "plan_changed"


class ChecklistIncomplete(DeploymentError):
    api_code = "checklist_incomplete"


class NotOpen(DeploymentError):
    api_code = "conflict"
