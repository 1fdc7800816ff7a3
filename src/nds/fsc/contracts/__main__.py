"""``python -m nds.fsc.contracts``: the ``nds fsc contract`` commands."""

from nds.fsc.contracts.cli import app

app(prog_name="python -m nds.fsc.contracts")
