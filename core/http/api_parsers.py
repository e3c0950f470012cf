"""The /v1 request body parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES); imports nothing of the project."""

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JsonBodyParser(JSONParser):
    """DRF's JSON parser, answering 400 (not 500) for a body nested deeper than the parser can recurse."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
