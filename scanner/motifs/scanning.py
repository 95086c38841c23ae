"""Scanning genomes and sequences for motifs: FIMO's scores and p-values, all
motifs and both strands in one pass per chunk, genome-wide on Dask.

Each task scans the window starts of one chunk of one contig, reading
``max motif width - 1`` bases past the chunk so windows that cross the border
are complete; a window belongs to the chunk its start lies in, so no hit is lost
or doubled and results do not depend on the chunk size. Windows holding an N are
not scored (as FIMO). Unlike FIMO, the last window of each sequence is scanned.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import xarray as xr

from .background import background_frequencies
from .bank import MotifBank, build_bank
from .chunk_scan import scan_codes
from .hits import HIT_FIELDS, count_slots, empty_columns, hit_columns, hits_dataset, slot_qvalues
from .motif import Motif

log = logging.getLogger(__name__)


def _motif_list(motifs) -> list[Motif]:
    from .readers import read

    if isinstance(motifs, (str, os.PathLike)):
        return read(motifs)
    motifs = list(motifs)
    if not all(isinstance(m, Motif) for m in motifs):
        raise TypeError("motifs must be Motif objects, a motif file or a database spec such as jaspar2024:plants")
    return motifs


def _clean_window_counts(codes: np.ndarray, first: int, last: int, widths: np.ndarray) -> np.ndarray:
    from .scan_numba_fns import count_clean_windows

    out = np.zeros(widths.size, dtype=np.int64)
    count_clean_windows(codes, first, last, widths, out)
    return out


def _tested_per_motif(bank: MotifBank, widths: np.ndarray, clean: np.ndarray, both_strands: bool) -> np.ndarray:
    per_width = dict(zip(widths.tolist(), clean.tolist()))
    strands = 2 if both_strands else 1
    return np.array([per_width[w] * strands for w in bank.width[: bank.n_motifs].tolist()], dtype=np.int64)


def _attrs(pvalue, background, pseudocount, both_strands, source) -> dict:
    return {
        "pvalue_threshold": pvalue,
        "background": [float(x) for x in background],
        "pseudocount": pseudocount,
        "both_strands": int(both_strands),
        "coordinates": "0-based, half-open",
        "source": source,
        "method": "FIMO-exact integer-scaled log-odds (MEME suite 5); hits have p <= pvalue_threshold",
    }


def _hits_in_memory(parts, bank, widths, clean, both_strands, contig_id, contig_length, attrs) -> xr.Dataset:
    """The hits dataset from per-sequence or per-chunk hit columns held in memory."""
    merged = {name: np.concatenate([p[name] for p in parts]) if parts else empty_columns()[name] for name in HIT_FIELDS}
    slots = np.concatenate([p["hit_slot"] for p in parts]) if parts else np.zeros(0, dtype=np.int32)
    tested = _tested_per_motif(bank, widths, clean, both_strands)
    counts = np.zeros(bank.slot_pvalue.size, dtype=np.int64)
    count_slots(slots, counts)
    merged["hit_qvalue"] = slot_qvalues(bank, counts, tested)[slots]
    return hits_dataset(merged, bank, contig_id, contig_length, tested, attrs)


def scan_sequences(
    sequences,
    motifs,
    *,
    pvalue: float = 1e-4,
    background="uniform",
    pseudocount: float = 0.1,
    both_strands: bool = True,
    pseudocount_background: np.ndarray | None = None,
) -> xr.Dataset:
    """Scan in-memory sequences for motifs.

    Parameters
    ----------
    sequences : dict of str to str, or list of (name, sequence), or list of str
        DNA (any case; IUPAC codes count as N).
    motifs : list of Motif, motif file, or database spec
    pvalue : float
        Report windows with p-value <= this.
    background : "uniform", "nrdb", path or 4 floats
    pseudocount : float
    both_strands : bool
    pseudocount_background : ndarray, optional
        Spread the pseudocount by these frequencies instead of ``background``.

    Returns
    -------
    xarray.Dataset
        Record dim ``hits`` (see :func:`scan`); ``contig_id`` holds the sequence names.
    """
    from ..genome.alphabet import encode

    if isinstance(sequences, dict):
        named = list(sequences.items())
    else:
        named = [s if isinstance(s, tuple) else (f"sequence{i + 1}", s) for i, s in enumerate(sequences)]
    motifs = _motif_list(motifs)
    frequencies = background_frequencies(background, both_strands=both_strands)
    bank = build_bank(
        motifs, frequencies, pvalue=pvalue, pseudocount=pseudocount, both_strands=both_strands,
        pseudocount_background=pseudocount_background,
    )
    widths = np.unique(bank.width)
    columns, clean = [], np.zeros(widths.size, dtype=np.int64)
    for index, (_, sequence) in enumerate(named):
        codes = encode(sequence)
        start, motif_strand, scaled = scan_codes(codes, 0, codes.size, bank)
        columns.append(hit_columns(bank, index, 0, start, motif_strand, scaled))
        clean += _clean_window_counts(codes, 0, codes.size, widths)
    return _hits_in_memory(
        columns,
        bank,
        widths,
        clean,
        both_strands,
        [name for name, _ in named],
        [len(s) for _, s in named],
        _attrs(pvalue, frequencies, pseudocount, both_strands, "sequences"),
    )


def _scan_chunk(bank: MotifBank, store_path: str, contig: str, contig_index: int, contig_length: int, start: int, stop: int, widths: np.ndarray):
    """Hits whose window starts in ``[start, stop)`` of one contig, and clean-window counts."""
    from ..genome.store import fetch_codes

    reach = min(stop + int(bank.width.max()) - 1, contig_length)
    codes = fetch_codes(store_path, contig, start, reach, contig_length)
    first, motif_strand, scaled = scan_codes(codes, 0, stop - start, bank)
    return hit_columns(bank, contig_index, start, first, motif_strand, scaled), _clean_window_counts(codes, 0, stop - start, widths)


def _take(future):
    """The result of a thread or Dask future, releasing a Dask one's memory."""
    result = future.result()
    if hasattr(future, "release"):
        future.release()
    return result


def _fingerprint(genome, bank: MotifBank, background, pvalue, pseudocount, both_strands, tasks) -> str:
    """What a resumed scan must share with the one it continues."""
    import hashlib

    from .hit_store import STORED_FIELDS

    digest = hashlib.sha256()
    digest.update(" ".join(STORED_FIELDS).encode())  # a store laid out otherwise is not continued
    digest.update(json.dumps([genome.attrs.get("source_sha256"), pvalue, pseudocount, both_strands, tasks]).encode())
    digest.update(np.asarray(background, dtype=np.float64).tobytes())
    digest.update(" ".join(bank.motif_id.tolist()).encode())
    digest.update(bank.cutoff.tobytes() + bank.cells.tobytes())
    return digest.hexdigest()


def scan(
    genome,
    motifs,
    *,
    pvalue: float = 1e-4,
    background="uniform",
    pseudocount: float = 0.1,
    both_strands: bool = True,
    contigs: list[str] | None = None,
    chunk_size: int | None = None,
    output: str | os.PathLike | None = None,
    client=None,
    workers: int | None = None,
    on_progress=None,
) -> xr.Dataset:
    """Scan a genome store (or in-memory sequences) for motifs.

    Parameters
    ----------
    genome : Genome, or sequences as :func:`scan_sequences` takes them
    motifs : list of Motif, motif file, or database spec (``jaspar2024:plants``)
    pvalue : float
        Report windows with p-value <= this (FIMO's ``--thresh``).
    background : {"uniform", "genome", "nrdb"}, path or 4 floats
        Background for log-odds and p-values; averaged with its complement when
        scanning both strands, as FIMO does.
    pseudocount : float
        FIMO's ``--motif-pseudo``.
    both_strands : bool
    contigs : list of str, optional
        Contigs to scan (default all).
    chunk_size : int, optional
        Bases per task (default: the store's chunk size).
    output : path, optional
        Write the hits to this Zarr store as chunks finish, and return the dataset
        opened from it; memory then holds one chunk's hits at a time. The store is
        built in ``.NAME.partial`` beside it with a ledger of finished chunks: a
        killed scan run again with the same inputs redoes only unfinished chunks.
    client : distributed.Client, optional
        Run the chunk tasks on this cluster; otherwise on ``workers`` threads.
    on_progress : callable, optional
        Called with (chunks done, chunks in all).

    Returns
    -------
    xarray.Dataset
        Record dim ``hits``: ``hit_contig``, ``hit_start``, ``hit_end`` (0-based,
        half-open), ``hit_strand``, ``hit_motif``, ``hit_score``, ``hit_pvalue``,
        ``hit_qvalue``; motif table (``motif_id``, ``motif_name``, ``motif_width``,
        ``motif_tested_windows``) and contig table alongside. Hits are ordered by
        contig, start, strand-motif.
    """
    from ..cluster import available_cores
    from ..genome.store import Genome
    from ..storage import resumable_output
    from .hit_store import HitStore

    if not isinstance(genome, Genome):
        return scan_sequences(genome, motifs, pvalue=pvalue, background=background, pseudocount=pseudocount, both_strands=both_strands)
    motifs = _motif_list(motifs)
    frequencies = background_frequencies(background, genome=genome, both_strands=both_strands)
    bank = build_bank(motifs, frequencies, pvalue=pvalue, pseudocount=pseudocount, both_strands=both_strands)
    names = genome.contig_names if contigs is None else list(contigs)
    chunk_size = int(chunk_size or genome.attrs["chunk_size"])
    widths = np.unique(bank.width)
    tasks = []
    for name in names:
        index, length = genome.contig_index(name), genome.contig_length(name)
        tasks.extend((name, index, length, s, min(s + chunk_size, length)) for s in range(0, length, chunk_size))
    log.info("scanning %d motifs x %d strands over %d chunks", bank.n_motifs, 2 if both_strands else 1, len(tasks))
    store_path = str(genome.path)

    def results(tasks):
        """Chunk results in task order, with at most two tasks per worker in flight:
        results the writer has not taken yet would otherwise pile up in memory."""
        from collections import deque

        if client is not None:
            bank_future = client.scatter(bank, broadcast=True)
            window = 2 * max(1, sum(client.nthreads().values()))
            submit = lambda t: client.submit(_scan_chunk, bank_future, store_path, *t, widths, pure=False)  # noqa: E731
            pool = None
        else:
            threads = workers or available_cores()
            window = 2 * threads
            pool = ThreadPoolExecutor(max_workers=threads)
            submit = lambda t: pool.submit(_scan_chunk, bank, store_path, *t, widths)  # noqa: E731
        pending = deque()
        try:
            for t in tasks:
                pending.append(submit(t))
                if len(pending) >= window:
                    yield _take(pending.popleft())
            while pending:
                yield _take(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True)

    clean = np.zeros(widths.size, dtype=np.int64)
    attrs = _attrs(pvalue, frequencies, pseudocount, both_strands, f"genome {genome.path}")
    contig_id, contig_length = genome.contigs.contig_id.values, genome.contigs.contig_length.values
    if output is None:
        parts = []
        for done, (columns, counts) in enumerate(results(tasks), start=1):
            parts.append(columns)
            clean += counts
            if on_progress:
                on_progress(done, len(tasks))
        return _hits_in_memory(parts, bank, widths, clean, both_strands, contig_id, contig_length, attrs)

    output = Path(output)
    fingerprint = _fingerprint(genome, bank, frequencies, pvalue, pseudocount, both_strands, tasks)
    with resumable_output(output) as partial:
        store = HitStore(partial, fingerprint, widths.size)
        clean = store.clean.copy()
        for done, (columns, counts) in enumerate(results(tasks[store.tasks_done :]), start=store.tasks_done + 1):
            clean += counts
            store.finish_task(done - 1, columns, clean)
            if on_progress:
                on_progress(done, len(tasks))
        tested = _tested_per_motif(bank, widths, clean, both_strands)
        tables = hits_dataset(empty_columns() | {"hit_qvalue": np.empty(0)}, bank, contig_id, contig_length, tested, attrs)
        store.finish(tables.drop_dims("hits"), bank, tested)
    from ..genome.store_format import quiet_zarr_string_warnings

    with quiet_zarr_string_warnings():
        return xr.open_zarr(output, consolidated=False)
