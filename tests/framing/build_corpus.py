"""Writes tests/framing/corpus.json, the framing corpus as data (run once when the corpus changes).

Each case is a raw HTTP/1.x request with placeholders the runner fills in (tests/framing/corpus.py):
{HOST} the server's host:port, {ID} the case id (in every path and an X-Case header, so the recording upstream
can tell which case reached it), {ROUTE} the `x-knoxcall-route` header line; {A:n} is n letters `a` and
{FILL:n} n filler header lines (the long cases would be unreadable spelled out).
"""

import json
from pathlib import Path

H = "Host: {HOST}\r\nX-Case: {ID}\r\n{ROUTE}\r\n"  # the common headers of a well-formed request
SMUGGLED = "GET /c/{ID}/smuggled HTTP/1.1\r\nHost: {HOST}\r\nX-Case: {ID}\r\n{ROUTE}\r\n\r\n"


def post(headers: str, body: str, target: str = "/c/{ID}/x", version: str = "HTTP/1.1") -> str:
    return f"POST {target} {version}\r\n{H}{headers}\r\n{body}"


def get(headers: str = "", target: str = "/c/{ID}/x", version: str = "HTTP/1.1", common: str = H) -> str:
    return f"GET {target} {version}\r\n{common}{headers}\r\n"


CASES = [
    # Well-formed controls: every server must pass these (nginx does).
    ("ok_get", "control: a plain GET", get()),
    ("ok_post_content_length", "control: POST with Content-Length", post("Content-Length: 5\r\n", "hello")),
    (
        "ok_post_chunked",
        "control: POST chunked",
        post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "ok_expect_100_continue",
        "Expect: 100-continue with its body",
        post("Expect: 100-continue\r\nContent-Length: 5\r\n", "hello"),
    ),
    (
        "ok_http10_without_host",
        "HTTP/1.0 needs no Host",
        "GET /c/{ID}/x HTTP/1.0\r\nX-Case: {ID}\r\n{ROUTE}\r\n\r\n",
    ),
    (
        "ok_chunk_extension",
        "a short chunk extension (RFC 9112 §7.1.1)",
        post("Transfer-Encoding: chunked\r\n", "5;name=value\r\nhello\r\n0\r\n\r\n"),
    ),
    ("ok_absolute_form", "absolute-form target naming the same host", get(target="http://{HOST}/c/{ID}/x")),
    ("ok_many_small_headers", "60 small headers", get("{FILL:60}")),
    # Smuggling: both framings at once (RFC 9112 §6.1: refuse or let TE win, and close).
    (
        "cl_te",
        "CL.TE: Content-Length and chunked, a request hidden in the body",
        post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n" + SMUGGLED),
    ),
    (
        "te_cl",
        "TE.CL: chunked and Content-Length",
        post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", "5c\r\n" + SMUGGLED + "\r\n0\r\n\r\n"),
    ),
    (
        "te_space_before_colon",
        "'Transfer-Encoding :' with Content-Length",
        post("Content-Length: 5\r\nTransfer-Encoding : chunked\r\n", "0\r\n\r\n" + SMUGGLED),
    ),
    (
        "te_obs_fold",
        "Transfer-Encoding folded onto a continuation line",
        post("Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n" + SMUGGLED),
    ),
    (
        "te_vertical_tab",
        "Transfer-Encoding value with a vertical tab",
        post("Content-Length: 5\r\nTransfer-Encoding:\x0bchunked\r\n", "0\r\n\r\n" + SMUGGLED),
    ),
    (
        "te_identity",
        "Transfer-Encoding: identity (removed from HTTP/1.1)",
        post("Transfer-Encoding: identity\r\n", SMUGGLED),
    ),
    (
        "te_identity_with_length",
        "Transfer-Encoding: identity and Content-Length",
        post("Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"),
    ),
    (
        "te_chunked_identity",
        "Transfer-Encoding: chunked, identity",
        post("Transfer-Encoding: chunked, identity\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_identity_chunked",
        "Transfer-Encoding: identity, chunked",
        post("Transfer-Encoding: identity, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_xchunked",
        "Transfer-Encoding: xchunked",
        post("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_chunked_twice",
        "chunked applied twice",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_gzip_chunked",
        "Transfer-Encoding: gzip, chunked (a coding the gateway cannot pass on)",
        post("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_chunked_not_last",
        "chunked is not the final coding",
        post("Transfer-Encoding: chunked, gzip\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "te_in_http10",
        "Transfer-Encoding in HTTP/1.0",
        post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n", version="HTTP/1.0"),
    ),
    # Content-Length values (RFC 9110 §8.6, RFC 9112 §6.3).
    (
        "cl_duplicate_same",
        "two identical Content-Length fields",
        post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
    ),
    (
        "cl_duplicate_conflict",
        "two different Content-Length fields",
        post("Content-Length: 5\r\nContent-Length: 4\r\n", "hello"),
    ),
    ("cl_list", "Content-Length: 5, 5", post("Content-Length: 5, 5\r\n", "hello")),
    ("cl_negative", "Content-Length: -1", post("Content-Length: -1\r\n", "hello")),
    ("cl_plus_sign", "Content-Length: +5", post("Content-Length: +5\r\n", "hello")),
    ("cl_hex", "Content-Length: 0x5", post("Content-Length: 0x5\r\n", "hello")),
    ("cl_inner_space", "Content-Length: 5 5", post("Content-Length: 5 5\r\n", "hello")),
    ("cl_empty", "an empty Content-Length", post("Content-Length: \r\n", "hello")),
    (
        "cl_overflow",
        "Content-Length beyond 64 bits",
        post("Content-Length: 99999999999999999999999999\r\n", "hello"),
    ),
    ("cl_letters", "Content-Length: five", post("Content-Length: five\r\n", "hello")),
    # Chunked bodies (RFC 9112 §7.1).
    (
        "chunk_size_overflow",
        "a chunk size beyond 64 bits",
        post("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_size_invalid_hex",
        "a chunk size that is not hex",
        post("Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_size_negative",
        "a negative chunk size",
        post("Transfer-Encoding: chunked\r\n", "-5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_size_0x_prefix",
        "a chunk size with 0x",
        post("Transfer-Encoding: chunked\r\n", "0x5\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_data_too_long",
        "chunk data longer than its size, no CRLF after it",
        post("Transfer-Encoding: chunked\r\n", "3\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_extension_huge",
        "a 20 000-byte chunk extension",
        post("Transfer-Encoding: chunked\r\n", "5;{A:20000}\r\nhello\r\n0\r\n\r\n"),
    ),
    (
        "chunk_extension_ctl",
        "a chunk extension with a control character",
        post("Transfer-Encoding: chunked\r\n", "5;a=\x01\r\nhello\r\n0\r\n\r\n"),
    ),
    # Host (RFC 9112 §3.2, RFC 9110 §7.2).
    ("host_missing", "HTTP/1.1 without Host", get(common="X-Case: {ID}\r\n{ROUTE}\r\n")),
    ("host_twice", "two Host fields", get("Host: other.example\r\n")),
    ("host_userinfo", "Host with userinfo", get(common="Host: user@{HOST}\r\nX-Case: {ID}\r\n{ROUTE}\r\n")),
    ("host_space", "Host with a space inside", get(common="Host: exa mple\r\nX-Case: {ID}\r\n{ROUTE}\r\n")),
    ("host_slash", "Host with a path", get(common="Host: {HOST}/x\r\nX-Case: {ID}\r\n{ROUTE}\r\n")),
    # Request line and target (RFC 9112 §3).
    ("method_invalid_token", "a method with a separator", get().replace("GET", "GE(T", 1)),
    ("method_lowercase", "a lowercase method", get().replace("GET", "get", 1)),
    ("method_long", "a 40-letter method", get().replace("GET", "A" * 40, 1)),
    ("version_invalid", "HTTP/1.x version garbage", get(version="HTTP/1.x")),
    ("version_2", "HTTP/2.0 on an HTTP/1 connection", get(version="HTTP/2.0")),
    ("http09", "an HTTP/0.9 request line", "GET /c/{ID}/x\r\n\r\n"),
    ("target_space", "a space inside the target", get(target="/c/{ID}/a b")),
    ("target_ctl", "a control character in the target", get(target="/c/{ID}/a\x01b")),
    ("target_nul", "NUL in the target", get(target="/c/{ID}/a\x00b")),
    ("target_asterisk", "asterisk-form on GET", get(target="*")),
    ("target_no_slash", "origin-form without the leading slash", get(target="c/{ID}/x")),
    ("target_fragment", "a target with a fragment", get(target="/c/{ID}/x#frag")),
    ("connect_authority", "CONNECT to an authority", "CONNECT 127.0.0.1:22 HTTP/1.1\r\n" + H + "\r\n"),
    ("request_line_too_long", "a 70 000-byte target", get(target="/c/{ID}/{A:70000}")),
    # Header fields (RFC 9110 §5, RFC 9112 §5).
    ("header_space_before_colon", "whitespace between name and colon", get("X-Bad : value\r\n")),
    ("header_obs_fold", "obs-fold continuation line", get("X-Folded: a\r\n b\r\n")),
    ("header_no_colon", "a header line without a colon", get("X-No-Colon\r\n")),
    ("header_empty_name", "an empty header name", get(": value\r\n")),
    ("header_name_invalid_token", "a header name with a separator", get("X(Bad): value\r\n")),
    ("header_value_nul", "NUL in a header value", get("X-Bad: a\x00b\r\n")),
    ("header_value_cr", "a bare CR in a header value", get("X-Bad: a\rb\r\n")),
    ("header_value_ctl", "a control character (0x01) in a header value", get("X-Bad: a\x01b\r\n")),
    ("header_value_del", "DEL in a header value", get("X-Bad: a\x7fb\r\n")),
    ("header_huge_field", "one 70 000-byte header field", get("X-Big: {A:70000}\r\n")),
    ("header_block_huge", "a 200 KB header block of 200 fields", get("{FILL:200:1000}")),
    ("header_too_many", "2 000 small header fields", get("{FILL:2000}")),
    ("header_cookie_huge", "a 70 000-byte Cookie", get("Cookie: a={A:70000}\r\n")),
    (
        "expect_100_oversized",
        "Expect: 100-continue with a 20 GB Content-Length",
        post("Expect: 100-continue\r\nContent-Length: 20000000000\r\n", ""),
    ),
]


def main() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    corpus = [{"id": i, "description": d, "request": r} for i, d, r in CASES]
    path = Path(__file__).with_name("corpus.json")
    path.write_text(json.dumps(corpus, indent=1) + "\n")
    print(f"{len(corpus)} cases written to {path}")


if __name__ == "__main__":
    main()
