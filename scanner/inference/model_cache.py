"""One loaded model per worker process, keyed by file, never inside a task graph.

Tasks carry the model's path; each process loads it once (checking the card) and
keeps it, so a thousand tasks on one worker load it once. A changed file (size or
modification time) is loaded again.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import torch

log = logging.getLogger(__name__)

_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()


def resolve_device(device: str | None) -> str:
    """``auto`` (or None) -> ``cuda`` when this process sees a GPU, else ``cpu``."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def cached_model(path: str | os.PathLike, device: str | None = "auto", dtype: torch.dtype = torch.float32):
    """The :class:`~scanner.models.model_file.LoadedModel` at ``path`` on ``device``, loaded once per process."""
    from ..models.model_file import load_model

    path = Path(path).resolve()
    device = resolve_device(device)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, device, dtype)
    with _LOCK:
        if key not in _CACHE:
            threads = _worker_threads()
            if threads is not None and device == "cpu":
                torch.set_num_threads(threads)  # one worker per core: no oversubscription
            loaded = load_model(path, device=device)
            loaded.module.to(dtype=dtype)
            _CACHE[key] = loaded
            log.info("loaded %s on %s in process %d", path, device, os.getpid())
        return _CACHE[key]


def cache_size() -> int:
    """Models held by this process (for tests and diagnostics)."""
    return len(_CACHE)


def warm(path: str, device: str | None = "auto", dtype: torch.dtype = torch.float32) -> int:
    """Load the model into this process's cache now (run on every worker before the tasks); returns the PID."""
    cached_model(path, device, dtype)
    return os.getpid()
