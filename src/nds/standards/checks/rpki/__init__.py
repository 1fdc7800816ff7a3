"""RPKI route origin validation for the addresses of web servers, name servers and MX hosts."""

from nds.standards.checks.rpki.check import evaluate, rpki_subtests
from nds.standards.checks.rpki.sources import FileSource, RoutinatorSource, RpkiSource, SourceError

__all__ = ["FileSource", "RoutinatorSource", "RpkiSource", "SourceError", "evaluate", "rpki_subtests"]
