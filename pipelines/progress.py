"""Progress shown to the user: a byte counter for streaming work, Dask's bar for graphs."""

from __future__ import annotations

import sys
from contextlib import contextmanager


def show_progress() -> bool:
    """Bars only where someone watches: stderr is a terminal, or forced by env."""
    import os

    return sys.stderr.isatty() or os.environ.get("CRE_SCANNER_PROGRESS") == "1"


@contextmanager
def byte_progress(total: int, description: str):
    """Yield a callback taking 'bytes done so far' that drives a tqdm bar."""
    from tqdm import tqdm

    with tqdm(
        total=total, unit="B", unit_scale=True, desc=description, disable=not show_progress(), file=sys.stderr
    ) as bar:

        def update(done: int) -> None:
            bar.update(done - bar.n)

        yield update


def compute_with_progress(client, *collections):
    """Compute dask collections on ``client``, with a progress bar; return results."""
    from distributed import progress

    futures = client.compute(list(collections))
    if show_progress():
        progress(futures)
        print(file=sys.stderr)
    return client.gather(futures)
