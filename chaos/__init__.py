"""Fault and load scenarios against a whole local system (``nox -s chaos``; a short form runs in
``nox -s test`` through ``chaos/test_chaos.py``). See ``docs/reliability.md``.

- ``load``: a bounded thread-pool load generator (127.0.0.1 only) and its latency figures;
- ``harness``: the system under test with its levers (stop Redis, kill the worker, inject faults);
- ``traffic``: scenarios 1, 2, 6, 7 (load, Redis outage, malformed input, log audit);
- ``faults``: scenarios 3, 4, 5 (worker SIGKILLs, SendGrid faults, Auth0 down);
- ``outbox``: scenario 8 (signups while Redis is down: every accepted signup's mail, once);
- ``slowclients``: scenario 14 (sockets trickling headers and bodies; ordinary clients still answered);
- ``__main__``: ``python -m chaos [--short]`` runs them all and prints each one's figures.
"""
