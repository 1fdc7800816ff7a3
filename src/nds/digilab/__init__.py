"""DigiLab: a running demo federation of separate organisations on loopback (``nds digilab up``)."""
