"""FASTA -> Zarr genome store, atomically.

Two readers fill the same store layout:

- with a Dask cluster, a plain-text FASTA with a ``.fai`` index beside it
  (``samtools faidx``) is read chunk by chunk in parallel, one task per chunk
  (:mod:`.ingest_indexed`);
- everything else is read in one streaming pass (:mod:`.ingest_stream`): on one
  machine it is the faster of the two (``benchmarks/bench_ingest.py``), and it
  reads gzip, bgzip and lines of varying width.

Both check every byte and give the same errors; both keep memory bounded by the
chunk size.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..storage import atomic_output
from .fasta import file_sha256, is_gzip
from .ingest_indexed import existing_index
from .store_format import ATTRS_KEY, DEFAULT_CHUNK_SIZE, FORMAT_VERSION

log = logging.getLogger(__name__)

METHODS = ("auto", "stream", "indexed")


def _existing_store_matches(store_path: Path, sha256: str, chunk_size: int) -> bool:
    import zarr

    try:
        attrs = zarr.open_group(store_path, mode="r").attrs.get(ATTRS_KEY, {})
    except Exception:  # not a store, or a damaged one: it will be replaced
        return False
    return (
        attrs.get("complete") is True
        and attrs.get("format_version") == FORMAT_VERSION
        and attrs.get("source_sha256") == sha256
        and attrs.get("chunk_size") == chunk_size
    )


def ingest_fasta(
    fasta_path: str | os.PathLike,
    store_path: str | os.PathLike,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overwrite: bool = True,
    method: str = "auto",
    client=None,
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Write a FASTA file into a Zarr v3 genome store.

    One uint8 array of base codes per contig (A=0, C=1, G=2, T=3, N=4, plus 8 where
    soft-masked), chunked along positions and compressed. The store is written beside
    its destination and moved into place only once complete, so a failure leaves no
    store that looks finished. If a complete store made from the same file (same
    SHA-256) with the same chunk size is already there, nothing is done.

    Parameters
    ----------
    fasta_path : path-like
        Plain, gzip or bgzip FASTA.
    store_path : path-like
        Destination directory (``.zarr``).
    chunk_size : int
        Bases per Zarr chunk; memory use per task is a few times this.
    overwrite : bool
        Replace an existing store made from another file. When False such a store
        raises ``FileExistsError``.
    method : {"auto", "stream", "indexed"}
        ``auto`` reads a plain-text file with a ``.fai`` by index when a ``client``
        is given and streams otherwise; ``indexed`` reads by index always (building
        the index if there is none). A file its index does not describe falls back
        to streaming, with a log message.
    client : distributed.Client, optional
        The cluster for the indexed reader's chunk tasks.
    on_progress : callable, optional
        Called with the count of source-file bytes handled so far.

    Returns
    -------
    pathlib.Path
        The store path.

    Raises
    ------
    FastaFormatError
        Invalid characters (file, line, column, contig), duplicate contig names, a
        FASTA with no sequence, or a truncated / corrupt gzip stream.
    """
    fasta_path, store_path = Path(fasta_path), Path(store_path)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not fasta_path.is_file():
        raise FileNotFoundError(f"FASTA file not found: {fasta_path}")
    if store_path.exists():
        if _existing_store_matches(store_path, file_sha256(fasta_path), chunk_size):
            log.info("%s is already an up-to-date store of %s; nothing to do", store_path, fasta_path)
            return store_path
        if not overwrite:
            raise FileExistsError(f"{store_path} exists and was not made from {fasta_path}")

    with atomic_output(store_path) as partial:
        index = existing_index(fasta_path)
        wants_index = method == "indexed" or (method == "auto" and index is not None and client is not None)
        if wants_index and not is_gzip(fasta_path):
            if _try_indexed(fasta_path, partial, index, chunk_size, client, on_progress):
                return store_path
        from .ingest_stream import write_store_streaming

        write_store_streaming(fasta_path, partial, chunk_size=chunk_size, on_progress=on_progress)
    return store_path


def _try_indexed(fasta_path: Path, partial: Path, index: Path | None, chunk_size: int, client, on_progress) -> bool:
    """Run the indexed reader; False (and ``partial`` cleared) if the file needs streaming."""
    from .ingest_indexed import IrregularLayout, write_store_indexed

    scratch_index = partial.parent / f"{partial.name}.fai"
    try:
        write_store_indexed(
            fasta_path,
            partial,
            index=index,
            chunk_size=chunk_size,
            client=client,
            on_progress=on_progress,
        )
        return True
    except IrregularLayout as err:
        log.info("%s; reading it in one streaming pass instead", err)
        shutil.rmtree(partial, ignore_errors=True)
        return False
    finally:
        scratch_index.unlink(missing_ok=True)
