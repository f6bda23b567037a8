"""Marketing analytics: the plain-Python service over the stores and the analytics logic
(``service.py``, :mod:`actors.analytics`), its Serve deployment (``deployment.py``), the
client the routes call (``client.py``) and its error table (``errors.py``)."""
