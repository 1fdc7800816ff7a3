"""Plumbing shared by the Inway and the Outway (both data-plane proxies).

FSC error responses, config-file loading, the process life cycle and a pre-fork worker supervisor
(several processes bound to one port with ``SO_REUSEPORT``).
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

from aiohttp import web
from pydantic import BaseModel, ValidationError

from nds.fsc.http1 import Request

DOMAIN_INWAY = "ERROR_DOMAIN_INWAY"
DOMAIN_OUTWAY = "ERROR_DOMAIN_OUTWAY"

HDR_AUTHORIZATION = "Fsc-Authorization"
HDR_TRANSACTION_ID = "Fsc-Transaction-Id"
HDR_ERROR_CODE = "Fsc-Error-Code"
HDR_GRANT_HASH = "Fsc-Grant-Hash"


class ConfigError(ValueError):
    """A component config file is missing or invalid (message is user-facing)."""


def fsc_error(
    req: Request,
    status: int,
    code: str,
    domain: str,
    message: str,
    *,
    bearer: bool = False,
    transaction_id: str | None = None,
) -> None:
    """Answer ``req`` with an FSC error: ``Fsc-Error-Code`` header and the ``error`` object
    {message, domain, code}."""
    fields = b"Fsc-Error-Code: " + code.encode("ascii") + b"\r\n"
    if bearer:
        fields += b"WWW-Authenticate: Bearer\r\n"
    if transaction_id:
        fields += b"Fsc-Transaction-Id: " + transaction_id.encode("ascii") + b"\r\n"
    body = json.dumps({"message": message, "domain": domain, "code": code}).encode("utf-8")
    req.respond(status, fields, body, content_type=b"application/json")


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
    close_server: Callable[[], Awaitable[None]],
    *,
    component: str,
    health_listen: str | None,
    health_port: int,
    cleanup: Callable[[], Awaitable[None]],
    ready: asyncio.Event | None = None,
) -> None:
    """What every data-plane process does once its main site listens: an optional plain-HTTP
    ``/healthz``, stop on SIGTERM/SIGINT or when orphaned, then clean up (health, ``close_server``
    — stop accepting, finish running requests —, then ``cleanup``)."""

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
        await close_server()
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
