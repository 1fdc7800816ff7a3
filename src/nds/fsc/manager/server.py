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


async def serve(cfg: ManagerConfig, ready: asyncio.Event | None = None) -> None:
    m = await asyncio.to_thread(build_manager, cfg)
    ssl_ctx = server_ssl_context(m.rules, cfg.certificate, cfg.private_key)
    runner = web.AppRunner(
        make_app(m), access_log=None, handle_signals=False, max_line_size=65536, max_field_size=16384
    )
    await runner.setup()
    site = web.TCPSite(runner, cfg.listen_host, cfg.listen_port, ssl_context=ssl_ctx, reuse_address=True)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    from nds.fsc.manager import outbox

    tasks = [asyncio.create_task(outbox.run(m, stop)), asyncio.create_task(_announce_loop(m, stop))]
    admin = None
    if cfg.admin_port:
        from nds.fsc.manager.admin import ensure_admin_token

        ensure_admin_token(cfg)
        admin = _admin_server(m)
        tasks.append(asyncio.create_task(admin.serve()))
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
        for t in tasks[:2]:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
        await m.client.aclose()
        m.store.close()


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
