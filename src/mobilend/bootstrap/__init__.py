"""The composition root: the one place that wires adapters into use cases.

- ``infra``: what is built once per process and shared (settings, database engine, PII
  vault, clock, ids, cost caps), typed;
- one builder per feature returning a typed container: ``lending`` (the lending core),
  ``funding`` (payout desk, rail and partner clients), ``risk`` (the scoring engine and
  line reviews), ``platform`` (the borrower journey: what the API and web app take),
  ``servicing`` (background work), ``operations`` (the staff desk);
- ``sandboxes``: serving a sandbox app in a thread of this process;
- ``service``: the service's start-up (sandboxes, platform, background thread).

Entry points (``api``, ``web``, ``jobs``, ``cli``) import the builder they need.
"""
