"""Motifs: reading motif files and JASPAR, PSSMs with FIMO's exact p-values,
numba scanning of genomes, exports.

``scanner.motifs.read(...)`` reads motifs; ``scanner.motifs.scan(...)`` scans.
"""

from __future__ import annotations

from .._exports import lazy_getattr

_EXPORTS = {
    "Motif": "scanner.motifs.motif",
    "read": "scanner.motifs.readers",
    "MotifFormatError": "scanner.motifs.readers",
    "scan": "scanner.motifs.scanning",
    "scan_sequences": "scanner.motifs.scanning",
    "to_fimo_tsv": "scanner.motifs.export",
    "to_bed": "scanner.motifs.export",
    "to_bigwig": "scanner.motifs.export",
    "motif_track": "scanner.motifs.track",
    "compare_motifs": "scanner.motifs.compare",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
