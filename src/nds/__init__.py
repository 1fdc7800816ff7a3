"""nds: working software for the building blocks of the Dutch Digitalisation Strategy (NDS)."""

__version__ = "0.1.0"
