"""Services: every rule and state transition of payguard, one package per domain.

Each domain package's ``__init__`` is its face: it re-exports the services and errors other code uses. The
domains depend one way (``webhooks``, ``pending``, ``processing`` on ``sessions`` and ``refunds``, those on
``payments``, and all of them on ``outbox`` and ``dispatch``); ``docs/architecture.md`` has the map.
"""
