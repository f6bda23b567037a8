"""Document OCR on the platform: the service behind the Serve deployment
(`deployments/ocr.py`), its Warehouse tables and the files it keeps."""
