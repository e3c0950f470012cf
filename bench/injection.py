"""Per-request cost of secret injection (render headers, merge a JSON body), printed, never asserted.

Run: .venv/bin/python bench/injection.py
"""

import timeit
import uuid

from secrets_vault.injection import SecretInfo, Vault, build_injection


def main() -> None:
    secret_id = str(uuid.uuid4())
    info = SecretInfo(secret_id, "API_KEY", None, False)
    vault = Vault(
        by_name={"API_KEY": info}, by_id={secret_id: info}, values={(secret_id, "production"): "sk_x" * 8}
    )
    config = {
        "inject_headers_json": {"Authorization": "Bearer {{secret:API_KEY}}", "X-Request": "{{request_id}}"},
        "inject_body_json": {"api_key": "{{secret_id:" + secret_id + "}}", "env": "{{environment}}"},
    }
    injection = build_injection(config, "production", "Bench", vault)
    body = b'{"amount": 100, "currency": "eur", "meta": {"order": "o-1"}}'

    def headers_only() -> None:
        injection.render_headers(injection.context("req-1"))

    def headers_and_body() -> None:
        context = injection.context("req-1")
        injection.render_headers(context)
        injection.merge_body(body, context)

    for name, func in [("headers", headers_only), ("headers + JSON body", headers_and_body)]:
        runs = 100_000
        seconds = min(timeit.repeat(func, number=runs, repeat=3))
        print(f"{name:>20}: {seconds / runs * 1e6:.2f} µs per request")


if __name__ == "__main__":
    main()
