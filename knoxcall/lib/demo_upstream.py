"""The demo upstream: answers every request with JSON echoing its method, path, query and headers.

`make run` serves it on 127.0.0.1:KNOXCALL_DEMO_UPSTREAM_PORT so the demo route has somewhere to go;
the first path segment shows which environment's target served the call.
"""

import argparse
import json

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    payload = {
        "method": request.method,
        "path": request.raw_path.split("?", 1)[0],
        "query": request.query_string,
        "headers": dict(request.headers),
        "body": body.decode("utf-8", "replace"),
        "served_by": request.path.strip("/").split("/", 1)[0] or "root",
    }
    return web.json_response(payload)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    print(json.dumps({"demo_upstream": f"http://{args.host}:{args.port}"}), flush=True)
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
