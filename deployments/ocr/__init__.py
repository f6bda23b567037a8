"""Document OCR: the plain-Python service (``service.py``, its job worker ``worker.py``,
its Warehouse tables and the files it keeps), its Serve deployment (``deployment.py``), the
client the routes call (``client.py``) and its error table (``errors.py``)."""
