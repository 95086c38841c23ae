"""Appending hits to Zarr as chunks finish, so memory never holds the genome's hits,
with a ledger of finished tasks so a killed scan resumes where it stopped."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..genome.store_format import quiet_zarr_string_warnings
from .hits import HIT_FIELDS, count_slots, slot_qvalues

HIT_CHUNK = 1 << 20
LEDGER = "ledger.json"
#: Stored while the scan runs, dropped when it finishes: each hit's slot in the
#: motif bank, which the q-values are counted by.
SLOT = "hit_slot"
STORED_FIELDS = HIT_FIELDS | {SLOT: np.int32}


def hit_codec():
    """Compressor of the hit arrays: Blosc LZ4 with byte-shuffle, several times
    faster to write and read than Zarr's default Zstandard (the store is larger);
    a standard Zarr codec, readable by any Zarr implementation."""
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")

log = logging.getLogger(__name__)


class HitStore:
    """A Zarr group with one growing array per hit field (dim ``hits``).

    ``ledger.json`` records, after every write, how many scan tasks (in task order)
    have all their hits stored, how many rows that is, and their clean-window
    counts. A store whose ledger carries the same ``fingerprint`` (the scan's
    inputs) is reopened, cut back to the ledger's rows, and continued.
    """

    def __init__(self, path: Path, fingerprint: str, n_widths: int):
        import zarr

        self.path = path
        self.fingerprint = fingerprint
        self.buffer = {name: np.empty(HIT_CHUNK, dtype=dtype) for name, dtype in STORED_FIELDS.items()}
        self.pending_rows = 0  # rows in the buffer
        self.boundaries: list[tuple[int, int, list[int]]] = []  # (task, rows after it, clean so far)
        ledger = self._read_ledger()
        if ledger is not None:
            self.root = zarr.open_group(path, mode="r+")
            self.arrays = {name: self.root[name] for name in STORED_FIELDS}
            self.size = int(ledger["rows"])
            for array in self.arrays.values():
                array.resize((self.size,))
            self.tasks_done = int(ledger["tasks_done"])
            self.clean = np.array(ledger["clean"], dtype=np.int64)
            log.info("resuming the scan in %s after %d finished tasks (%d hits)", path, self.tasks_done, self.size)
            return
        self.root = zarr.open_group(path, mode="w", zarr_format=3)
        self.size = 0
        self.tasks_done = 0
        self.clean = np.zeros(n_widths, dtype=np.int64)
        with quiet_zarr_string_warnings():
            self.arrays = {
                name: self.root.create_array(
                    name, shape=(0,), chunks=(HIT_CHUNK,), dtype=dtype, dimension_names=["hits"],
                    compressors=[hit_codec()],
                )
                for name, dtype in STORED_FIELDS.items()
            }
        self._write_ledger(0, 0, self.clean.tolist())

    def _read_ledger(self) -> dict | None:
        try:
            ledger = json.loads((self.path / LEDGER).read_text())
        except (OSError, ValueError):
            return None
        return ledger if ledger.get("fingerprint") == self.fingerprint else None

    def _write_ledger(self, tasks_done: int, rows: int, clean: list[int]) -> None:
        record = {"fingerprint": self.fingerprint, "tasks_done": tasks_done, "rows": rows, "clean": clean}
        scratch = self.path / f"{LEDGER}.tmp"
        scratch.write_text(json.dumps(record))
        os.replace(scratch, self.path / LEDGER)

    def finish_task(self, task: int, columns: dict[str, np.ndarray], clean: np.ndarray) -> None:
        """Store one task's hits (tasks arrive in order) and advance the ledger as far
        as the hits written to disk allow."""
        self.append(columns)
        self.boundaries.append((task, self.size + self.pending_rows, clean.tolist()))
        finished = [b for b in self.boundaries if b[1] <= self.size]
        if finished:
            task_done, rows, clean_so_far = finished[-1]
            self._write_ledger(task_done + 1, rows, clean_so_far)
            self.boundaries = [b for b in self.boundaries if b[1] > self.size]

    def append(self, columns: dict[str, np.ndarray]) -> None:
        """Queue hits in the chunk buffer; each Zarr chunk is written once, when it is
        full, so no chunk is ever read back and rewritten."""
        total = columns["hit_start"].size
        done = 0
        while done < total:
            take = min(total - done, HIT_CHUNK - self.pending_rows)
            for name, values in self.buffer.items():
                values[self.pending_rows : self.pending_rows + take] = columns[name][done : done + take]
            self.pending_rows += take
            done += take
            if self.pending_rows == HIT_CHUNK:
                self._flush()

    def _flush(self) -> None:
        """Write the buffered rows (a whole chunk, or the last one)."""
        n = self.pending_rows
        if not n:
            return
        with quiet_zarr_string_warnings():
            for name, array in self.arrays.items():
                array.resize((self.size + n,))
                array[self.size : self.size + n] = self.buffer[name][:n]
        self.size += n
        self.pending_rows = 0

    def finish(self, tables: xr.Dataset, bank, tested: np.ndarray) -> None:
        """Add q-values and the motif and contig tables. The q-values come from the
        hits counted per slot of ``bank``, one stored chunk at a time, so memory holds
        one chunk of hits per thread and the slot counts, never all the hits."""
        from concurrent.futures import ThreadPoolExecutor

        from ..cluster import available_cores

        self._flush()
        (self.path / LEDGER).unlink(missing_ok=True)
        slots = self.arrays[SLOT]
        chunks = [(lo, min(lo + HIT_CHUNK, self.size)) for lo in range(0, self.size, HIT_CHUNK)]
        counts = np.zeros(bank.slot_pvalue.size, dtype=np.int64)
        for lo, hi in chunks:
            count_slots(slots[lo:hi], counts)
        qvalue = slot_qvalues(bank, counts, tested)
        array = self.root.create_array(
            "hit_qvalue", shape=(self.size,), chunks=(HIT_CHUNK,), dtype=np.float64, dimension_names=["hits"],
            compressors=[hit_codec()],
        )

        def write(bounds):
            lo, hi = bounds
            array[lo:hi] = qvalue[slots[lo:hi]]

        # whole chunks each, so the threads never write the same chunk
        with ThreadPoolExecutor(max_workers=available_cores()) as pool:
            list(pool.map(write, chunks))
        del self.root[SLOT]
        with quiet_zarr_string_warnings():
            tables.to_zarr(self.path, mode="a", zarr_format=3, consolidated=False)
