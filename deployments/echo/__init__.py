"""Echo: a trivial service (returns what it is given), the smoke test and latency benchmark
target of the ingress. The shape of every service: ``service.py`` (plain Python),
``deployment.py`` (Serve), ``client.py`` (what the routes call), ``errors.py`` (its error
table)."""
