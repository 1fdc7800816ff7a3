"""Plumbing shared by the Inway and the Outway (both data-plane proxies).

FSC error responses, hop-by-hop header handling, body streaming, config-file loading and a
pre-fork worker supervisor (several processes bound to one port with ``SO_REUSEPORT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, web
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import BaseModel, ValidationError

DOMAIN_INWAY = "ERROR_DOMAIN_INWAY"
DOMAIN_OUTWAY = "ERROR_DOMAIN_OUTWAY"

HDR_AUTHORIZATION = "Fsc-Authorization"
HDR_TRANSACTION_ID = "Fsc-Transaction-Id"
HDR_ERROR_CODE = "Fsc-Error-Code"
HDR_GRANT_HASH = "Fsc-Grant-Hash"

# RFC 9110 §7.6.1 hop-by-hop fields, plus those aiohttp recomputes itself.
HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Host",
        "Content-Length",
    )
)
# Bodies up to this size (with a Content-Length) are read in one go; larger or chunked ones stream.
SMALL_BODY = 64 * 1024
STREAM_CHUNK = 64 * 1024


class ConfigError(ValueError):
    """A component config file is missing or invalid (message is user-facing)."""


def fsc_error(
    status: int,
    code: str,
    domain: str,
    message: str,
    *,
    bearer: bool = False,
    transaction_id: str | None = None,
) -> web.Response:
    """An FSC error: ``Fsc-Error-Code`` header and the ``error`` object {message, domain, code}."""
    headers = {HDR_ERROR_CODE: code}
    if bearer:
        headers["WWW-Authenticate"] = "Bearer"
    if transaction_id:
        headers[HDR_TRANSACTION_ID] = transaction_id
    body = json.dumps({"message": message, "domain": domain, "code": code})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _connection_tokens(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> set[str]:
    """Field names listed in ``Connection`` are hop-by-hop too (RFC 9110 §7.6.1)."""
    out: set[str] = set()
    for value in headers.getall("Connection", []):
        out.update(t.strip().lower() for t in value.split(",") if t.strip())
    return out


def forward_headers(
    headers: CIMultiDictProxy[str] | CIMultiDict[str], drop: Iterable[str] = ()
) -> CIMultiDict[str]:
    """End-to-end headers of a message, minus ``drop`` (lower-case names)."""
    skip = HOP_BY_HOP | _connection_tokens(headers) | set(drop)
    out: CIMultiDict[str] = CIMultiDict()
    for k, v in headers.items():
        if k.lower() not in skip:
            out.add(k, v)
    return out


def request_body(request: web.BaseRequest) -> Any:
    """What to hand the client session as ``data``: nothing, the small body, or a stream."""
    if not request.body_exists:
        return None
    length = request.content_length
    if length is not None and length <= SMALL_BODY:
        return request.content.read(length)  # awaitable; resolved by the caller
    return request.content.iter_chunked(STREAM_CHUNK)


async def body_for_upstream(request: web.BaseRequest) -> Any:
    data = request_body(request)
    if data is None:
        return None
    if hasattr(data, "__await__"):
        return await data
    return data


async def relay_response(
    request: web.BaseRequest, upstream: ClientResponse, extra: dict[str, str] | None = None
) -> web.StreamResponse:
    """Return ``upstream`` to our client unaltered (status, end-to-end headers, body streamed)."""
    headers = forward_headers(upstream.headers)
    if extra:
        for k, v in extra.items():
            headers[k] = v
    length = upstream.content_length
    if request.method == "HEAD":  # no body, but the Content-Length of the GET it describes
        if length is not None:
            headers["Content-Length"] = str(length)
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
        await resp.prepare(request)
        await resp.write_eof()
        return resp
    if length is not None and length <= SMALL_BODY:
        body = await upstream.read()
        return web.Response(status=upstream.status, reason=upstream.reason, body=body, headers=headers)
    resp = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
    if length is not None:
        resp.content_length = length
    await resp.prepare(request)
    async for chunk in upstream.content.iter_chunked(STREAM_CHUNK):
        await resp.write(chunk)
    await resp.write_eof()
    return resp


def split_hostport(value: str, default_port: int) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``host`` → (host, port)."""
    v = value.strip()
    if v.startswith("["):
        host, _, rest = v[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
        return host, port
    if v.count(":") == 1:
        host, port_s = v.split(":")
        return host, int(port_s)
    return v, default_port


def load_toml_model(path: str | os.PathLike[str], model: type[BaseModel], path_keys: Iterable[str]) -> Any:
    """Read a TOML config into ``model``; relative paths in ``path_keys`` are relative to the file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config {p}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config {p} is not valid TOML: {e}") from None
    base = p.resolve().parent
    for key in path_keys:
        v = data.get(key)
        if isinstance(v, str) and v and not Path(v).is_absolute():
            data[key] = str((base / v).resolve())
        elif isinstance(v, list):
            data[key] = [str((base / x).resolve()) if not Path(x).is_absolute() else x for x in v]
    url = data.get("txlog_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///") :]
        data["txlog_url"] = f"sqlite:///{(base / rel).resolve()}"
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"{'.'.join(str(x) for x in err['loc']) or '(file)'}: {err['msg']}" for err in e.errors()]
        raise ConfigError(f"invalid config {p}:\n  " + "\n  ".join(lines)) from None


@contextlib.contextmanager
def profiled(component: str) -> Iterator[None]:
    """With ``NDS_FSC_PROFILE_DIR`` set, run under cProfile and write ``<component>-<pid>.prof`` there
    on shutdown (used by benchmarks/fsc_datapath.py --profile)."""
    target = os.environ.get("NDS_FSC_PROFILE_DIR")
    if not target:
        yield
        return
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(str(Path(target) / f"{component}-{os.getpid()}.prof"))


def install_uvloop() -> None:
    """uvloop as the event loop, and a short GIL switch interval: the transaction-log writer thread
    must not keep the event loop waiting for the GIL (default 5 ms) after each commit."""
    sys.setswitchinterval(0.0005)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()


SUPERVISOR_PID: int | None = None  # set in forked workers: the parent that supervises them


async def stop_when_orphaned(stop: asyncio.Event, interval: float = 1.0) -> None:
    """A worker whose supervisor died (e.g. SIGKILL) stops too, instead of holding the port forever."""
    if SUPERVISOR_PID is None:
        return
    while not stop.is_set():
        if os.getppid() != SUPERVISOR_PID:
            stop.set()
            return
        await asyncio.sleep(interval)


async def serve_until_stopped(
    runner: web.BaseRunner,
    *,
    component: str,
    health_listen: str | None,
    health_port: int,
    cleanup: Callable[[], Awaitable[None]],
    ready: asyncio.Event | None = None,
) -> None:
    """What every data-plane process does once its main site listens: an optional plain-HTTP
    ``/healthz``, stop on SIGTERM/SIGINT or when orphaned, then clean up (health, runner, ``cleanup``)."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "component": component})

    health_runner = None
    if health_listen:
        app = web.Application()
        app.router.add_get("/healthz", health)
        health_runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await health_runner.setup()
        hh, hp = split_hostport(health_listen, health_port)
        await web.TCPSite(health_runner, hh, hp, reuse_port=True).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    orphan_watch = asyncio.create_task(stop_when_orphaned(stop))
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        orphan_watch.cancel()
        if health_runner is not None:
            await health_runner.cleanup()
        await runner.cleanup()
        await cleanup()


def run_workers(workers: int, serve: Callable[[int], None], name: str) -> int:
    """Run ``serve(worker_index)`` in ``workers`` forked processes sharing the listening port.

    The parent supervises: SIGTERM/SIGINT go to every worker, a worker that dies unexpectedly is
    restarted (at most once per second), and the parent exits when all workers have stopped.
    With ``workers == 1`` it serves in this process.
    """
    if workers <= 1:
        serve(0)
        return 0
    children: dict[int, int] = {}
    stopping = False

    def spawn(index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            global SUPERVISOR_PID
            SUPERVISOR_PID = parent
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                serve(index)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children[pid] = index

    def stop(_sig: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for i in range(workers):
        spawn(i)
    last_restart = 0.0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        index = children.pop(pid, None)
        if index is None or stopping:
            continue
        print(f"{name}: worker {index} exited ({status}); restarting", file=sys.stderr, flush=True)
        delay = max(0.0, 1.0 - (time.monotonic() - last_restart))
        time.sleep(delay)
        last_restart = time.monotonic()
        spawn(index)
    return 0
