from __future__ import annotations

import os

# Tesseract's own threading is slower than one thread per process on this machine.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
