"""FSC (Federatieve Service Connectiviteit): Manager/Directory, Inway, Outway, contracts, tokens."""
