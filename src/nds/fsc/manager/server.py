"""Run one Manager process: the FSC Manager API over mTLS, the outbox, announcing, the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from nds.fsc.grouprules import load_group_rules
from nds.fsc.manager.config import ManagerConfig
from nds.fsc.manager.core import Manager
from nds.fsc.manager.routes import make_app
from nds.fsc.manager.store import Store
from nds.pki import server_ssl_context

log = logging.getLogger("nds.fsc.manager")


def build_manager(cfg: ManagerConfig) -> Manager:
    rules = load_group_rules(cfg.group_rules)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.resolved_database_url())
    for inway in cfg.inways:
        store.upsert_inway(inway.name, inway.address)
    for svc in cfg.services:
        store.upsert_service(svc.name, svc.inway, svc.endpoint_url, svc.protocol, svc.regulated_area)
    return Manager(cfg, rules, store)


async def _announce_loop(m: Manager, stop: asyncio.Event) -> None:
    attempt = 0
    while not stop.is_set():
        if await m.announce_to_directory():
            # fsc-core: also announce to the Peers we negotiated contracts with (their stored address of
            # us may be outdated after a move); best effort, once per start.
            await m.announce_to_known_peers()
            return
        delay = m.rules.retry_delay(attempt)
        attempt += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.2))


def _admin_server(m: Manager) -> Any:
    import uvicorn

    from nds.fsc.manager.admin import make_admin_app

    class EmbeddedServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the Manager process handles signals itself
            yield

    config = uvicorn.Config(
        make_admin_app(m),
        host=m.cfg.admin_host,
        port=m.cfg.admin_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return EmbeddedServer(config)


async def _start_admin(m: Manager) -> tuple[Any, asyncio.Task[None]]:
    """Bind and start the admin API before the FSC port opens (so healthy means both listen)."""
    import ipaddress
    import socket

    from nds.fsc.manager.admin import ensure_admin_token

    ensure_admin_token(m.cfg)
    host, port = m.cfg.admin_host, m.cfg.admin_port
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"error: the admin API cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.listen(128)
    admin = _admin_server(m)
    task = asyncio.create_task(admin.serve(sockets=[sock]))
    for _ in range(200):
        if admin.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not admin.started:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise SystemExit(f"error: the admin API did not start on {host}:{port}")
    return admin, task


async def serve(cfg: ManagerConfig, ready: asyncio.Event | None = None) -> None:
    m = await asyncio.to_thread(build_manager, cfg)
    stop = asyncio.Event()
    failed: list[str] = []
    admin, admin_task = await _start_admin(m) if cfg.admin_port else (None, None)
    ssl_ctx = server_ssl_context(m.rules, cfg.certificate, cfg.private_key)
    runner = web.AppRunner(
        make_app(m), access_log=None, handle_signals=False, max_line_size=65536, max_field_size=16384
    )
    await runner.setup()
    site = web.TCPSite(runner, cfg.listen_host, cfg.listen_port, ssl_context=ssl_ctx, reuse_address=True)
    await site.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    from nds.fsc.manager import outbox

    tasks = [asyncio.create_task(outbox.run(m, stop)), asyncio.create_task(_announce_loop(m, stop))]
    if admin_task is not None:

        def _admin_ended(_task: asyncio.Task[None]) -> None:
            if not stop.is_set():  # a Manager without its admin API is of no use to its officers
                log.error("admin API on %s:%s stopped; stopping the Manager", cfg.admin_host, cfg.admin_port)
                failed.append("admin")
                stop.set()

        admin_task.add_done_callback(_admin_ended)
    log.info(
        "manager %s (%s) listening on %s:%s",
        m.peer_id,
        "directory" if cfg.directory else "peer",
        cfg.listen_host,
        cfg.listen_port,
    )
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        if admin is not None:
            admin.should_exit = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, *([admin_task] if admin_task else []), return_exceptions=True)
        await runner.cleanup()
        await m.client.aclose()
        m.store.close()
    if failed:
        raise SystemExit(1)


def run(cfg: ManagerConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(cfg))
