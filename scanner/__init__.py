"""cre-scanner: genome-scale scanning of plant genomes with deep-learning models.

The engine. Heavy dependencies are imported inside the functions that need them so
that ``import scanner`` stays fast.
"""

from __future__ import annotations

from ._exports import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    "ingest_fasta": "scanner.genome.ingest",
    "open_genome": "scanner.genome.store",
    "Genome": "scanner.genome.store",
    "one_hot": "scanner.genome.encoding",
    "reverse_complement": "scanner.genome.encoding",
    "tile_windows": "scanner.tiling.tiles",
    "stitch_tiles": "scanner.tiling.stitch",
    "gene_windows": "scanner.tiling.genes",
    "read_gff3": "scanner.tiling.gff",
    "window_sequences": "scanner.tiling.sequences",
    "window_positions": "scanner.tiling.coordinates",
    "locate_position": "scanner.tiling.coordinates",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
