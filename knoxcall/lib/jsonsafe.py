"""Turn model field values into plain JSON values for audit diffs and exports."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
