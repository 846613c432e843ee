"""The offline door protocol core: pure functions and value objects, no I/O and no clock.

Modules: ``errors`` (stable refusal codes), ``cbor`` (bounded decoding of untrusted bytes),
``keys`` (issuer keyring, phone and door keys), ``credential`` (COSE_Sign1 + CWT claims),
``windows`` (weekday time windows), ``timetoken`` (server-signed time), ``denylist``
(versioned signed revocations) and ``events`` (the lock's signed hash-chained event log).
See ``docs/protocol.md`` for the byte layouts.
"""
