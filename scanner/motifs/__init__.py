"""Motifs: reading motif files and JASPAR, PSSMs with FIMO's exact p-values,
numba scanning of genomes, exports.

``scanner.motifs.read(...)`` reads motifs; ``scanner.motifs.scan(...)`` scans.
"""

from __future__ import annotations

from importlib import import_module

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


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'scanner.motifs' has no attribute {name!r}")
