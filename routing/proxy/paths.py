"""Joining a caller's path to a route's target without ever escaping the target's base path."""

from urllib.parse import unquote

# Segments that mean "go up" to some server or framework once decoded: plain and encoded dot segments,
# and Tomcat-style path parameters ("..;x").
_UP_SEGMENTS = {".", ".."}


class UnsafePathError(ValueError):
    pass


def check_path(raw_path: str) -> str:
    """Return the raw path unchanged, or raise UnsafePathError when it could climb out of the base path."""
    if not raw_path.startswith("/"):
        raise UnsafePathError("The request path must start with '/'.")
    if "%" not in raw_path and "/." not in raw_path and "\\" not in raw_path and "\x00" not in raw_path:
        # Nothing encoded and no segment starting with a dot: no segment can be or decode to a dot
        # segment, a slash, a backslash or NUL, so the per-segment decoding below (its cost) is skipped.
        return raw_path
    for segment in raw_path.split("/"):
        decoded = unquote(unquote(segment))
        if "\x00" in decoded or "/" in decoded or "\\" in decoded:
            raise UnsafePathError("Encoded slashes, backslashes and NUL are not allowed in the path.")
        if decoded.split(";", 1)[0] in _UP_SEGMENTS:
            raise UnsafePathError("Dot segments ('.', '..') are not allowed in the path.")
    return raw_path


def upstream_url(target_base_url: str, raw_path: str, query_string: str) -> str:
    """target_base_url + the caller's path, verbatim, + its query string."""
    url = target_base_url + check_path(raw_path)
    return f"{url}?{query_string}" if query_string else url
