"""Crypto price prediction: the plain-Python service (``service.py`` and its collaborators),
its Serve deployment (``deployment.py``), the client the routes call (``client.py``) and its
error table (``errors.py``)."""
