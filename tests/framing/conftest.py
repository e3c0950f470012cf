"""Prints the framing corpus's size, the nginx calibration and each server's results in the terminal summary,
so a CI log shows them without `-s`."""

from tests.framing.corpus import load_calibration, load_corpus

RESULTS: dict[str, dict] = {}  # server -> case id -> Outcome, filled by test_framing.py


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    calibration = load_calibration()
    cases = load_corpus()
    nginx_refused = {i for i, c in calibration["cases"].items() if c["refused"]}
    write = terminalreporter.write_line
    terminalreporter.section("framing corpus (RFC 9110/9112)")
    write(
        f"{len(cases)} raw-socket cases; nginx {calibration['nginx']} proxy_pass refuses {len(nginx_refused)}"
    )
    for server, outcomes in RESULTS.items():
        refused = {i for i, o in outcomes.items() if o.refused}
        leaked = sum(o.upstream_hits for i, o in outcomes.items() if i in nginx_refused)
        write(
            f"{server}: refuses {len(refused)} of {len(cases)}, {len(nginx_refused & refused)} of nginx's"
            f" {len(nginx_refused)}; upstream hits on cases nginx refuses: {leaked}"
        )
    header = f"{'case':28} {'nginx':>6}" + "".join(f" {server:>8}" for server in RESULTS)
    write(header)
    for case in cases:
        row = f"{case['id']:28} {calibration['cases'][case['id']]['status']!s:>6}"
        for outcomes in RESULTS.values():
            outcome = outcomes.get(case["id"])
            shown = "-" if outcome is None else f"{outcome.status}{'+' if outcome.upstream_hits else ''}"
            row += f" {shown:>8}"
        write(row)
    write("status None: the server closed without answering; '+': the upstream received the request")
