"""The FSC Manager: contracts, signatures, access tokens, peers and services (FSC Core §Manager).

A Directory is a Manager with ``directory = true`` in its configuration. Each Manager is its own
process serving the FSC Manager API over mTLS (``server.py``) and, separately, a loopback admin API
for the organisation's own officers (``admin.py``).
"""
