"""Reading motifs: MEME text, JASPAR (.jaspar), raw JASPAR counts (.pfm), HOMER
(.motif) and the JASPAR databases shipped by ``pyjaspar``.

``read(source)`` takes a path or a database spec such as ``jaspar2024:plants``
(CORE collection, plant taxon, the latest version of each matrix). A malformed
file raises :class:`MotifFormatError` naming the file and line; rows that do not
sum to 1 are normalised with a warning; empty motifs are refused.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .motif import Motif

log = logging.getLogger(__name__)

DEFAULT_SITES = 20.0
ROW_SUM_TOLERANCE = 1e-3
_JASPAR_SPEC = re.compile(r"^jaspar(?P<year>\d{4})?:(?P<taxa>[A-Za-z_,]+)$", re.IGNORECASE)
FORMATS = ("meme", "jaspar", "pfm", "homer")


class MotifFormatError(ValueError):
    """A motif file is malformed; the message says where."""


def read(source: str | Path, *, format: str | None = None) -> list[Motif]:
    """Read motifs from a file or a JASPAR database spec.

    Parameters
    ----------
    source : str or path
        A motif file, or ``jasparYYYY:TAXON[,TAXON]`` (for example
        ``jaspar2024:plants``) for the CORE collection of that JASPAR release as
        shipped by pyjaspar, latest version of each matrix. Without a year, the
        newest release pyjaspar ships.
    format : {"meme", "jaspar", "pfm", "homer"}, optional
        File format; guessed from the extension and content when omitted.

    Returns
    -------
    list of Motif

    Raises
    ------
    MotifFormatError
        Naming file and line.
    """
    text_source = str(source)
    spec = _JASPAR_SPEC.match(text_source)
    if spec and not Path(text_source).exists():
        return read_jaspar_database(year=spec["year"], tax_groups=spec["taxa"].split(","))
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"motif file not found: {path} (or a database spec like jaspar2024:plants)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    format = format or _guess_format(path, lines)
    reader = {"meme": _read_meme, "jaspar": _read_jaspar, "pfm": _read_pfm, "homer": _read_homer}.get(format)
    if reader is None:
        raise ValueError(f"unknown motif format {format!r}; choose one of {', '.join(FORMATS)}")
    motifs = reader(path, lines)
    if not motifs:
        raise MotifFormatError(f"{path}: no motifs found (read as {format} format)")
    ids = [m.motif_id for m in motifs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise MotifFormatError(f"{path}: duplicate motif IDs: {', '.join(duplicates[:5])}")
    return motifs


def _guess_format(path: Path, lines: list[str]) -> str:
    suffix = path.suffix.lower()
    if suffix in (".meme",) or any(line.startswith("MEME version") for line in lines[:50]):
        return "meme"
    if suffix == ".jaspar":
        return "jaspar"
    if suffix == ".pfm":
        return "pfm"
    if suffix in (".motif", ".motifs", ".homer"):
        return "homer"
    first = next((line for line in lines if line.strip()), "")
    if first.startswith(">") and len(first.split("\t")) >= 3:
        return "homer"
    if any(re.match(r"^\s*[ACGT]\s*\[", line) for line in lines[:10]):
        return "jaspar"
    raise MotifFormatError(f"{path}: cannot tell the motif format; name it with format= (or --format)")


def finish_matrix(values: np.ndarray, *, motif_id: str, where: str, counts: bool) -> np.ndarray:
    """Check a (width, 4) matrix and return it as probabilities (rows summing to 1)."""
    if values.size == 0 or values.shape[0] == 0:
        raise MotifFormatError(f"{where}: motif {motif_id!r} is empty (no positions)")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise MotifFormatError(f"{where}: motif {motif_id!r} has negative or non-numeric entries")
    sums = values.sum(axis=1)
    if np.any(sums <= 0):
        raise MotifFormatError(f"{where}: motif {motif_id!r} has a position whose entries are all zero")
    if not counts and np.any(np.abs(sums - 1) > ROW_SUM_TOLERANCE):
        log.warning(
            "%s: rows of motif %r sum to %.4g..%.4g, not 1; normalised",
            where,
            motif_id,
            sums.min(),
            sums.max(),
        )
    return values / sums[:, None]


def _numbers(text: str, where: str) -> list[float]:
    try:
        return [float(x) for x in text.replace("[", " ").replace("]", " ").split()]
    except ValueError:
        raise MotifFormatError(f"{where}: expected numbers, found {text.strip()!r}") from None


def _read_meme(path: Path, lines: list[str]) -> list[Motif]:
    motifs = []
    i = 0
    alphabet_ok = True
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("ALPHABET"):
            letters = line.split("=", 1)[1].strip() if "=" in line else ""
            alphabet_ok = letters.upper() in ("ACGT", "") or letters.upper().startswith("DNA")
            if not alphabet_ok:
                raise MotifFormatError(f"{path}, line {i + 1}: only the DNA alphabet ACGT is supported, found {letters!r}")
        if not line.startswith("MOTIF"):
            i += 1
            continue
        words = line.split()
        if len(words) < 2:
            raise MotifFormatError(f"{path}, line {i + 1}: MOTIF line without an identifier")
        motif_id, name, header_line = words[1], (words[2] if len(words) > 2 else ""), i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("letter-probability matrix"):
            if lines[i].strip().startswith("MOTIF"):
                raise MotifFormatError(f"{path}, line {header_line}: motif {motif_id!r} has no letter-probability matrix")
            i += 1
        if i == len(lines):
            raise MotifFormatError(f"{path}, line {header_line}: motif {motif_id!r} has no letter-probability matrix")
        params = dict(re.findall(r"(\w+)\s*=\s*([^\s]+)", lines[i]))
        width = int(float(params.get("w", -1)))
        n_sites = float(params.get("nsites", DEFAULT_SITES))
        if int(float(params.get("alength", 4))) != 4:
            raise MotifFormatError(f"{path}, line {i + 1}: motif {motif_id!r} has alength {params['alength']}, expected 4")
        matrix_line = i + 1
        i += 1
        rows = []
        while i < len(lines) and (width < 0 or len(rows) < width):
            text = lines[i].strip()
            if not text or text.startswith(("URL", "MOTIF")):
                break
            row = _numbers(text, f"{path}, line {i + 1}")
            if len(row) != 4:
                raise MotifFormatError(f"{path}, line {i + 1}: expected 4 probabilities (A C G T), found {len(row)}")
            rows.append(row)
            i += 1
        if width >= 0 and len(rows) != width:
            raise MotifFormatError(
                f"{path}, line {matrix_line}: motif {motif_id!r} declares w= {width} but has {len(rows)} rows"
            )
        values = finish_matrix(
            np.array(rows, dtype=np.float64).reshape(-1, 4), motif_id=motif_id, where=f"{path}, line {matrix_line}", counts=False
        )
        motifs.append(Motif(motif_id, name, values, n_sites, f"{path}:{header_line}"))
    return motifs


def _letter_rows(path: Path, lines: list[str], start: int, motif_id: str) -> np.ndarray:
    """Four 'A [ ... ]' style rows starting at ``start`` -> (width, 4) counts."""
    rows = {}
    for offset in range(4):
        number = start + offset
        if number >= len(lines):
            raise MotifFormatError(f"{path}, line {number}: motif {motif_id!r} ends before its 4 rows")
        text = lines[number].strip()
        letter, rest = (text[0].upper(), text[1:]) if text[:1].isalpha() else ("ACGT"[offset], text)
        if letter not in "ACGT" or letter in rows:
            raise MotifFormatError(f"{path}, line {number + 1}: expected a row for one of A, C, G, T, found {text[:20]!r}")
        rows[letter] = _numbers(rest, f"{path}, line {number + 1}")
    widths = {len(v) for v in rows.values()}
    if len(widths) != 1:
        raise MotifFormatError(f"{path}, line {start + 1}: rows of motif {motif_id!r} differ in length")
    return np.array([rows[letter] for letter in "ACGT"], dtype=np.float64).T


def _read_jaspar(path: Path, lines: list[str]) -> list[Motif]:
    motifs = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if not text:
            i += 1
            continue
        if not text.startswith(">"):
            raise MotifFormatError(f"{path}, line {i + 1}: expected a '>ID name' header, found {text[:30]!r}")
        words = text[1:].split()
        motif_id = words[0] if words else f"motif{len(motifs) + 1}"
        counts = _letter_rows(path, lines, i + 1, motif_id)
        values = finish_matrix(counts, motif_id=motif_id, where=f"{path}, line {i + 1}", counts=True)
        sites = float(counts.sum(axis=1).max()) if counts.size else DEFAULT_SITES
        motifs.append(Motif(motif_id, " ".join(words[1:2]), values, sites, f"{path}:{i + 1}"))
        i += 5
    return motifs


def _read_pfm(path: Path, lines: list[str]) -> list[Motif]:
    body = [(n, line) for n, line in enumerate(lines) if line.strip()]
    name = path.stem
    if body and body[0][1].startswith(">"):
        name = body[0][1][1:].split()[0] if body[0][1][1:].split() else name
        body = body[1:]
    if len(body) != 4:
        raise MotifFormatError(f"{path}: a .pfm file holds 4 rows of counts (A, C, G, T), found {len(body)}")
    rows = [_numbers(line, f"{path}, line {n + 1}") for n, line in body]
    if len({len(r) for r in rows}) != 1:
        raise MotifFormatError(f"{path}, line {body[0][0] + 1}: the 4 rows differ in length")
    counts = np.array(rows, dtype=np.float64).T
    values = finish_matrix(counts, motif_id=name, where=str(path), counts=True)
    return [Motif(name, "", values, float(counts.sum(axis=1).max()), str(path))]


def _read_homer(path: Path, lines: list[str]) -> list[Motif]:
    motifs, i = [], 0
    while i < len(lines):
        text = lines[i].strip()
        if not text:
            i += 1
            continue
        if not text.startswith(">"):
            raise MotifFormatError(f"{path}, line {i + 1}: expected a '>' header line, found {text[:30]!r}")
        fields = text[1:].split("\t")
        motif_id = fields[1] if len(fields) > 1 and fields[1] else fields[0]
        header_line = i + 1
        i += 1
        rows = []
        while i < len(lines) and lines[i].strip() and not lines[i].startswith(">"):
            row = _numbers(lines[i], f"{path}, line {i + 1}")
            if len(row) != 4:
                raise MotifFormatError(f"{path}, line {i + 1}: expected 4 probabilities (A C G T), found {len(row)}")
            rows.append(row)
            i += 1
        values = finish_matrix(
            np.array(rows, dtype=np.float64).reshape(-1, 4), motif_id=motif_id, where=f"{path}, line {header_line}", counts=False
        )
        motifs.append(Motif(motif_id, fields[0], values, DEFAULT_SITES, f"{path}:{header_line}"))
    return motifs


def read_jaspar_database(*, year: str | None, tax_groups: list[str], collection: str = "CORE") -> list[Motif]:
    """Motifs of a JASPAR release shipped by pyjaspar (offline), latest versions only."""
    from pyjaspar import jaspardb

    releases = jaspardb().get_releases()
    release = f"JASPAR{year}" if year else releases[0]
    if release not in releases:
        raise ValueError(f"JASPAR release {release} is not shipped by pyjaspar; available: {', '.join(releases)}")
    database = jaspardb(release=release)
    records = database.fetch_motifs(collection=collection, tax_group=[t.lower() for t in tax_groups])
    if not records:
        raise ValueError(f"{release} {collection} has no motifs for taxon {','.join(tax_groups)}")
    motifs = []
    for record in records:
        counts = np.array([record.counts[letter] for letter in "ACGT"], dtype=np.float64).T
        where = f"{release} {record.matrix_id}"
        values = finish_matrix(counts, motif_id=record.matrix_id, where=where, counts=True)
        motifs.append(Motif(record.matrix_id, record.name, values, float(counts.sum(axis=1).max()), where))
    return motifs
