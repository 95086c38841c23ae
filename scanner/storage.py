"""Writing stores atomically: build beside the destination, then move into place.

A run that dies part-way leaves only a hidden ``.NAME.partial-XXXX`` directory,
never a store at the destination that looks complete.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def replace_directory(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination``, replacing a directory already there."""
    if not destination.exists():
        os.replace(source, destination)
        return
    old = destination.with_name(f".{destination.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(destination, old)
    os.replace(source, destination)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_output(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a scratch path beside ``destination``; move it into place on success.

    On any exception the scratch directory is removed and ``destination`` is left
    as it was.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        yield partial
        replace_directory(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


@contextmanager
def resumable_output(destination: str | os.PathLike) -> Iterator[Path]:
    """Like :func:`atomic_output`, but the scratch path is fixed (``.NAME.partial``)
    and survives a failure, so the next run can pick up its ledger and go on.

    Whoever writes there keeps an explicit ledger of what is finished: a missing
    or present Zarr chunk proves nothing.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    yield partial
    replace_directory(partial, destination)
