#!/usr/bin/env python
"""Calibrates the framing corpus against nginx `proxy_pass` on this machine (Debian's nginx-light).

Starts nginx proxying to the tests' recording upstream, sends every case of corpus.json over a raw socket
and writes nginx_calibration.json: each case's nginx status and whether nginx refused it (answered 4xx/5xx
itself or closed, with the upstream untouched). The gateway test requires the gateway to refuse at least
every case nginx refuses. Run: `.venv/bin/python tests/framing/calibrate.py` (needs `apt-get install
nginx-light`).
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.framing.corpus import CALIBRATION_FILE, load_corpus, run_corpus  # noqa: E402
from tests.support.gateway_process import free_port  # noqa: E402
from tests.support.upstream import RecordingUpstream  # noqa: E402

# nginx's defaults for what it reads from a client; the same as a stock Debian site behind proxy_pass.
NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def nginx_version(binary: str) -> str:
    return subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]


def main() -> None:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        sys.exit("nginx is missing: apt-get install nginx-light")
    upstream = RecordingUpstream().start()
    work = Path(tempfile.mkdtemp(prefix="knoxcall-framing-"))
    port = free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port, upstream=upstream.port))
    nginx = subprocess.Popen([binary, "-c", str(work / "nginx.conf"), "-p", str(work)])
    try:
        time.sleep(1)
        corpus = load_corpus()
        outcomes, stray = run_corpus(port, upstream, corpus)
    finally:
        nginx.terminate()
        nginx.wait(5)
        shutil.rmtree(work, ignore_errors=True)
    if stray:
        sys.exit(f"{stray} upstream hits could not be attributed to a case")
    cases = {
        case["id"]: {"status": outcomes[case["id"]].status, "refused": outcomes[case["id"]].refused}
        for case in corpus
    }
    result = {"nginx": nginx_version(binary), "cases": cases}
    CALIBRATION_FILE.write_text(json.dumps(result, indent=1) + "\n")
    refused = sum(c["refused"] for c in cases.values())
    print(f"nginx {result['nginx']}: refuses {refused} of {len(cases)} cases; written to {CALIBRATION_FILE}")
    for case_id, case in cases.items():
        print(f"  {case_id:28} {case['status']!s:>5} {'refused' if case['refused'] else 'passed'}")


if __name__ == "__main__":
    main()
