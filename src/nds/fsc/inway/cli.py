"""``nds fsc inway --config FILE``: run an Inway (several worker processes with ``--workers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("inway")
    def inway(
        config: Annotated[Path, typer.Option("--config", help="Inway config file (TOML).")],
        workers: Annotated[int, typer.Option(help="Worker processes (default: the config's 'workers').")] = 0,
    ) -> None:
        """Run an FSC Inway: mTLS reverse proxy with token checks and durable transaction logging."""
        from nds.fsc.grouprules import GroupRulesError, load_group_rules
        from nds.fsc.inway.common import ConfigError, run_workers
        from nds.fsc.inway.config import load_inway_config
        from nds.fsc.inway.server import serve
        from nds.fsc.txlog import TransactionLog
        from nds.pki import PkiError

        cfg = None
        try:
            cfg = load_inway_config(config)
            load_group_rules(cfg.group_rules)
            # Create/upgrade the log tables once, before forking workers.
            TransactionLog(cfg.txlog_url, create=True).close()
        except (ConfigError, GroupRulesError, PkiError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except Exception as e:  # database URL problems and the like: a message, not a traceback
            where = cfg.txlog_url if cfg is not None else config
            typer.echo(f"error: cannot open the transaction log {where!r}: {e}", err=True)
            raise typer.Exit(2) from None
        assert cfg is not None
        n = workers or cfg.workers
        raise typer.Exit(run_workers(n, lambda _i: serve(cfg), "inway"))
