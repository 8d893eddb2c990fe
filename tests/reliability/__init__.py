"""The fault suite (issue 9, item 2): real ``kessai serve`` / ``kessai worker`` processes and real provider
emulators, thousands of payment operations through the REST API under injected faults, then a reconciliation
of the hub's records against the emulators' ledgers. See docs/reliability.md.

- :mod:`.providers` — what the suite knows of each provider: credentials, orders it screens OK / NG / 審査中, and
  how to read its emulator's ledger in common words;
- :mod:`.reconcile` — the reconciliation (pure functions over plain data; unit-tested with planted faults);
- :mod:`.client` — the integrator: an API client that retries with the same ``Idempotency-Key``;
- :mod:`.workload` — the orders and the operations on them;
- :mod:`.chaos` — the fault schedule (emulator faults, SIGKILL of web and worker, PostgreSQL restarts);
- :mod:`.hubview` — the hub's records, read from its database by a helper process;
- :mod:`.driver` — the whole run (``make faults``; ``python -m tests.reliability.driver --help``).
"""
