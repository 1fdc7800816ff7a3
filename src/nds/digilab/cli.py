"""``nds digilab``: run the DigiLab federation (``up`` / ``down`` / ``status``)."""

from __future__ import annotations

import json
import shlex
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True, help="The DigiLab: a running demo federation on loopback.")

StateOpt = Annotated[
    Path, typer.Option("--state", help="State directory (certificates, databases, digilab.json).")
]


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def what_to_try(data: dict[str, Any]) -> str:
    orgs = {o["slug"]: o for o in data["organisations"]}
    lines = [f"DigiLab group '{data['group_id']}' is running. State: digilab.json", ""]
    lines.append("Organisations:")
    d = data["directory"]
    lines.append(f"  {d['name']:<32} {d['peer_id']}  directory  manager {d['manager_address']}")
    for o in data["organisations"]:
        parts = [f"manager {o['manager_address']}"]
        if o["inway_address"]:
            parts.append(f"inway {o['inway_address']}")
        if o["outway_address"]:
            parts.append(f"outway {o['outway_address']}")
        lines.append(f"  {o['name']:<32} {o['peer_id']}  {', '.join(parts)}")
    lines += ["", "Try a call through an Outway (the grant is chosen with the Fsc-Grant-Hash header):"]
    for g in data["grants"]:
        o = orgs[g["consumer"]]
        who = o["name"] + (" (namens een andere organisatie)" if g.get("delegator_peer_id") else "")
        lines.append(f"  # {who} -> {g['service']}")
        header = shlex.quote(f"Fsc-Grant-Hash: {g['hash']}")
        lines.append(f"  curl -si {o['outway_address']}/{g['service']}/1 -H {header}")
    lines += [
        "",
        "The response carries Fsc-Transaction-Id; both transaction logs hold a record with that ID.",
        "A certificate for your own organisation:",
        "  nds pki issue --state DIR --peer-id OIN --name NAME --out OUTDIR",
    ]
    return "\n".join(lines)


@app.command()
def up(
    state: StateOpt = Path(".nds/digilab"),
    detach: Annotated[bool, typer.Option("--detach", help="Return once every component is healthy.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes per Inway/Outway.")] = 1,
    token_lifetime: Annotated[
        int, typer.Option(help="Access-token lifetime in seconds (group rules).")
    ] = 300,
    inway_port: Annotated[int, typer.Option(help="Port of every Inway (FSC: 443).")] = 443,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    host_prefix: Annotated[
        str, typer.Option(help="Loopback prefix; organisation N gets PREFIX+N (FSC ports on every address).")
    ] = "127.0.1.",
    federation: Annotated[
        str,
        typer.Option(
            help="fds: base registers, applications, logboeken, citizen view; fsc: sample services only."
        ),
    ] = "fds",
    persons: Annotated[
        int, typer.Option(help="Synthetic persons in the FDS registers.", min=10, max=9000)
    ] = 5000,
) -> None:
    """Start the directory and organisations, set up contracts, write STATE/digilab.json."""
    from nds.digilab.model import Ports
    from nds.digilab.orchestrator import DigiLab, DigiLabError

    if not host_prefix.startswith("127.") or host_prefix.count(".") != 3 or not host_prefix.endswith("."):
        raise _fail("--host-prefix must look like 127.X.Y. (a loopback /24)")
    from nds.digilab.fds import fds_federation
    from nds.digilab.model import default_federation

    if federation not in ("fds", "fsc"):
        raise _fail("--federation must be fds or fsc")
    lab = DigiLab(
        state,
        spec=fds_federation() if federation == "fds" else default_federation(),
        persons=persons,
        workers=workers,
        token_lifetime=token_lifetime,
        ports=Ports(inway=inway_port),
        host_prefix=host_prefix,
    )
    try:
        data = lab.up()  # on any failure or Ctrl+C it stops what it had started
    except KeyboardInterrupt:
        typer.echo("interrupted: stopped the processes started so far", err=True)
        raise typer.Exit(130) from None
    except DigiLabError as e:
        raise _fail(str(e)) from None
    except (OSError, RuntimeError) as e:
        raise _fail(f"the DigiLab could not start: {e}") from None
    done = threading.Event()
    if not detach:  # from here on Ctrl+C means: stop the DigiLab cleanly
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        from nds.digilab.fds import what_to_try_fds

        typer.echo(what_to_try_fds(data, state) if "portal" in data else what_to_try(data))
    if detach:
        typer.echo(f"\nRunning in the background. Stop it with: nds digilab down --state {state}", err=True)
        return
    typer.echo("\nPress Ctrl+C to stop the DigiLab.", err=True)
    while not done.wait(1.0):
        pass
    stopped = lab.down_started()
    typer.echo(f"stopped {len(stopped)} processes", err=True)


@app.command()
def down(state: StateOpt = Path(".nds/digilab")) -> None:
    """Stop exactly the processes that 'up' started from this state directory."""
    from nds.digilab.orchestrator import DigiLabError
    from nds.digilab.orchestrator import down as do_down

    try:
        stopped = do_down(state)
    except DigiLabError as e:
        raise _fail(str(e)) from None
    for p in stopped:
        typer.echo(f"stopped {p['name']} (pid {p['pid']})")
    if not stopped:
        typer.echo("nothing was running")


@app.command()
def status(state: StateOpt = Path(".nds/digilab")) -> None:
    """Which recorded processes still run."""
    from nds.digilab.orchestrator import DigiLabError, load_state
    from nds.digilab.procs import is_ours

    try:
        data = load_state(state.resolve())
    except DigiLabError as e:
        raise _fail(str(e)) from None
    if data is None:
        raise _fail(f"no DigiLab state in {state}")
    for p in data.get("processes", []):
        alive = is_ours(int(p["pid"]), state.resolve())
        typer.echo(f"{'running' if alive else 'stopped':8} {p['name']} (pid {p['pid']})")


@app.command()
def traffic(
    state: StateOpt = Path(".nds/digilab"),
    n: Annotated[int, typer.Option("--n", help="Number of calls.", min=1, max=100_000)] = 20,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same calls).")] = 1,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Make N realistic federated calls through the organisations' applications."""
    import asyncio

    from nds.digilab.orchestrator import DigiLabError, load_state
    from nds.digilab.traffic import run

    try:
        data = load_state(state)
    except DigiLabError as e:
        raise _fail(str(e)) from None
    if not data or "portal" not in data:
        raise _fail(f"no running FDS DigiLab in {state}: start it with 'nds digilab up --state {state}'")
    calls = asyncio.run(run(data, n, seed, persons=int(data.get("persons", 5000))))
    if output == "json":
        typer.echo(json.dumps([c.to_json() for c in calls], indent=2))
        return
    ok = sum(1 for c in calls if 200 <= c.result < 300)
    for c in calls:
        typer.echo(
            f"{c.result:>3}  {c.consumer:<10} -> {c.provider}/{c.service:<10} {c.purpose}  "
            f"({len(c.data_subjects)} betrokkene(n))"
        )
    typer.echo(f"{ok} of {len(calls)} calls succeeded")


@app.command()
def demo(
    state: StateOpt = Path(".nds/digilab"),
    port: Annotated[int, typer.Option(help="Port of the web UI (loopback only).")] = 8000,
    calls: Annotated[
        int, typer.Option(help="Federated calls to make first, so there is something to see.")
    ] = 40,
) -> None:
    """The one-command demo: start the DigiLab, make some traffic, serve the web UI until Ctrl+C."""
    import asyncio

    import uvicorn

    from nds.digilab.fds import fds_federation
    from nds.digilab.orchestrator import DigiLab, DigiLabError, running_pids
    from nds.digilab.traffic import run, showcase
    from nds.settings import Settings
    from nds.web.app import create_app

    state = state.resolve()
    if state.name != "digilab":  # the web UI reads NDS_STATE_DIR/digilab
        raise _fail("for the demo the state directory must be named 'digilab' (e.g. .nds/digilab)")
    if running_pids(state):
        typer.echo(f"a DigiLab is already running from {state}; stopping it first", err=True)
        from nds.digilab.orchestrator import down as do_down

        do_down(state)
    typer.echo("DigiLab starten (directory, zeven organisaties, registers, logboeken) ...", err=True)
    lab = DigiLab(state, spec=fds_federation())
    try:
        data = lab.up()
    except DigiLabError as e:
        raise _fail(str(e)) from None
    try:
        done = asyncio.run(run(data, calls, seed=7, persons=int(data.get("persons", 5000))))
        done += asyncio.run(showcase(data))  # the test citizen newcomers log in as has a story to see
        ok = sum(1 for c in done if 200 <= c.result < 300)
        url = f"http://127.0.0.1:{port}/digilab"
        typer.echo(
            "\n".join(
                [
                    "",
                    f"DigiLab draait; {ok} van {len(done)} verzoeken verwerkt via FSC.",
                    "",
                    f"Open {url} en probeer:",
                    "  1. Deelnemers en Diensten: wie doet mee, welke diensten zijn gepubliceerd.",
                    "  2. Mijn gegevens: log in met de gesimuleerde DigiD als testburger 999993653 en zie",
                    "     welke organisatie uw gegevens gebruikte, waarvoor en op welke grondslag.",
                    "  3. Beheer: log in als medewerker van een organisatie; bekijk contracten en de",
                    "     transactielogboeken; een beheerder kan contracten accepteren, weigeren",
                    "     of intrekken.",
                    "  4. Registers: de verwerkingsactiviteiten van elke organisatie.",
                    "",
                    f"In een andere terminal: nds digilab traffic --state {state} --n 20",
                    f"                        nds inzage --state {state} --bsn 999993653",
                    "",
                    "Stoppen: Ctrl+C (stopt ook alle DigiLab-processen).",
                ]
            )
        )
        settings = Settings(state_dir=state.parent, demo_mode=True, web_host="127.0.0.1", web_port=port)
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    finally:
        stopped = lab.down_started()
        typer.echo(f"stopped {len(stopped)} DigiLab processes", err=True)
