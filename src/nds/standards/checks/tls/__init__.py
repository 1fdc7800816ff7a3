"""TLS probing (``retrieve``, ``wire``) and NCSC-profile evaluation (``evaluate``)."""
