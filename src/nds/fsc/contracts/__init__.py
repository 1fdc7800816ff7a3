"""FSC contracts: model, versioned hashing, validation, signature payloads and derived state.

Pure code, no I/O. Modules:

* :mod:`~nds.fsc.contracts.model` — ContractContent and grants, ``parse_contract_content``, ``to_json``
* :mod:`~nds.fsc.contracts.versions` — ``FscVersion``, ``scheme_for`` (1.1 bytes / draft JCS hashes)
* :mod:`~nds.fsc.contracts.validation` — ``ValidationContext``, ``validate_contract``, signers
* :mod:`~nds.fsc.contracts.signing` — signature payloads
* :mod:`~nds.fsc.contracts.state` — ``contract_state``
* :mod:`~nds.fsc.contracts.errors` — FSC error codes (one table) and exceptions

See docs/fsc/contracts.md.
"""
