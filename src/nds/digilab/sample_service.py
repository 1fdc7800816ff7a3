"""A sample service behind a provider's Inway (DigiLab and tests).

``python -m nds.digilab.sample_service --listen 127.0.0.1:9001 --name NAME [--record FILE]``

Answers every request with a small JSON document (service name, method, path, the FSC transaction
ID it received). ``GET /bench/1k`` answers exactly 1024 bytes (benchmarks); ``/bytes/N`` and
``/chunked/N`` answer N bytes of a fixed pattern with a Content-Length or chunked (streaming tests).
With ``--record`` it appends one JSON line per request to FILE — method, raw path, FSC headers, trace
headers, body size — so tests can check what reached the service (and that nothing did). It never logs bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path

from aiohttp import web

BENCH_BODY = b'{"data":"' + b"x" * 1013 + b'"}'  # 1024 bytes
assert len(BENCH_BODY) == 1024

_RECORDED = ("Fsc-Authorization", "Fsc-Transaction-Id", "traceparent", "tracestate", "X-Test")


def make_handler(name: str, record: Path | None):
    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        if record is not None:
            line = {
                "method": request.method,
                "path": request.raw_path,
                "headers": {h: request.headers.get(h) for h in _RECORDED if h in request.headers},
                "body_bytes": len(body),
                "pid": os.getpid(),
            }
            with record.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        if request.raw_path == "/bench/1k":
            return web.Response(body=BENCH_BODY, content_type="application/json")
        if request.raw_path.startswith("/status/"):
            code = int(request.raw_path.rsplit("/", 1)[-1])
            return web.json_response(
                {"service": name, "status": code}, status=code, headers={"X-Service-Error": "yes"}
            )
        if request.raw_path.startswith("/bytes/") or request.raw_path.startswith("/chunked/"):
            n = min(int(request.raw_path.rsplit("/", 1)[-1]), 64 * 1024 * 1024)
            block = bytes(range(256)) * 256  # 64 KiB
            if request.raw_path.startswith("/bytes/"):
                return web.Response(
                    body=(block * (n // len(block) + 1))[:n], content_type="application/octet-stream"
                )
            resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            sent = 0
            while sent < n:
                part = block[: min(len(block), n - sent)]
                await resp.write(part)
                sent += len(part)
            await resp.write_eof()
            return resp
        if request.raw_path.startswith("/slow"):
            await asyncio.sleep(30)
        return web.json_response(
            {
                "service": name,
                "method": request.method,
                "path": request.raw_path,
                "transaction_id": request.headers.get("Fsc-Transaction-Id"),
                "received_bytes": len(body),
            }
        )

    return handle


async def serve(host: str, port: int, name: str, record: Path | None) -> None:
    if record is not None:
        record.touch()
    server = web.Server(make_handler(name, record), access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=True).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:9001")
    ap.add_argument("--name", default="sample")
    ap.add_argument("--record", type=Path, default=None)
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(serve(host, int(port), args.name, args.record))


if __name__ == "__main__":
    main()
