"""``nds fsc outway --config FILE``: run an Outway (several worker processes with ``--workers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("outway")
    def outway(
        config: Annotated[Path, typer.Option("--config", help="Outway config file (TOML).")],
        workers: Annotated[int, typer.Option(help="Worker processes (default: the config's 'workers').")] = 0,
    ) -> None:
        """Run an FSC Outway: forward proxy for own clients, with tokens, durable logging and mTLS."""
        from nds.fsc.grouprules import GroupRulesError, load_group_rules
        from nds.fsc.inway.common import ConfigError, run_workers
        from nds.fsc.outway.config import load_outway_config
        from nds.fsc.outway.server import serve
        from nds.fsc.txlog import TransactionLog
        from nds.pki import PkiError

        cfg = None
        try:
            cfg = load_outway_config(config)
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
        raise typer.Exit(run_workers(n, lambda _i: serve(cfg), "outway"))
