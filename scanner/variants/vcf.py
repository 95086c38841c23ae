"""Variants in: VCF/BCF (through cyvcf2) or VCF Zarr (bio2zarr), as one dataset.

Both readers return the VCF Zarr layout (the names ``bio2zarr vcf2zarr`` writes,
with their meaning), so everything downstream reads one thing:

``variant_contig`` (variants) index into ``contig_id``; ``variant_position``
(variants) 1-based position of the first REF base; ``variant_allele`` (variants,
alleles) REF then ALTs, ``""`` where a site has fewer alleles; ``variant_id``;
``call_genotype`` (variants, samples, ploidy) int8 allele index, -1 missing, -2
fill (a haploid call in a diploid panel); ``call_genotype_phased`` (variants,
samples); ``sample_id``; ``contig_id``. ``variant_index`` (variants) is the
record's index among all records of the source, so a subset lines up with it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import xarray as xr

log = logging.getLogger(__name__)


class VariantFormatError(ValueError):
    """A variant file that cannot be read as asked (missing index, unknown sample, bad record)."""


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """``chr``, ``chr:start-end`` or ``chr:start`` (1-based, inclusive) -> (contig, start, end)."""
    contig, _, span = text.rpartition(":") if ":" in text else (text, "", "")
    if not span:
        return text, None, None
    try:
        first, _, last = span.replace(",", "").partition("-")
        start = int(first)
        end = int(last) if last else None
    except ValueError:
        raise VariantFormatError(f"region {text!r}: expected CONTIG, CONTIG:START or CONTIG:START-END") from None
    if start < 1 or (end is not None and end < start):
        raise VariantFormatError(f"region {text!r}: need 1 <= START <= END")
    return contig, start, end


def _is_vcf_zarr(path: Path) -> bool:
    return path.is_dir() and ((path / "zarr.json").exists() or (path / ".zgroup").exists())


def read_variants(path: str | os.PathLike, *, region: str | None = None, samples=None,
                  genotypes: bool = True) -> xr.Dataset:
    """Read a VCF/BCF or a VCF Zarr store.

    Parameters
    ----------
    path : path-like
        ``.vcf``, ``.vcf.gz``, ``.bcf`` (a region needs its ``.tbi``/``.csi``), or a
        VCF Zarr directory (Zarr v2 or v3).
    region : str, optional
        ``CONTIG``, ``CONTIG:START-END`` (1-based, inclusive; a variant is in the
        region when its first REF base is).
    samples : list of str, optional
        Keep these samples, in this order; unknown names are an error.
    genotypes : bool
        Read the calls (False: sites only, faster for per-variant scoring).

    Returns
    -------
    xarray.Dataset
        In the VCF Zarr layout (see the module notes), loaded in memory.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"variant file {path} does not exist")
    if _is_vcf_zarr(path):
        ds = _read_vcf_zarr(path, region=region, samples=samples, genotypes=genotypes)
    else:
        ds = _read_vcf(path, region=region, samples=samples, genotypes=genotypes)
    ds.attrs.update(source=str(path), region=region or "")
    log.info("%s: %d variants, %d samples", path, ds.sizes["variants"], ds.sizes.get("samples", 0))
    return ds


def _read_vcf(path: Path, *, region, samples, genotypes) -> xr.Dataset:
    from cyvcf2 import VCF

    try:
        vcf = VCF(str(path), gts012=False, lazy=True, threads=1)
    except (OSError, Exception) as err:  # cyvcf2 raises plain Exceptions for unreadable files
        raise VariantFormatError(f"{path}: not a readable VCF/BCF ({err})") from err
    all_samples = list(vcf.samples)
    if samples is not None:
        missing = [s for s in samples if s not in all_samples]
        if missing:
            raise VariantFormatError(f"{path}: samples not in the file: {', '.join(missing[:5])}"
                                     f"{' ...' if len(missing) > 5 else ''} ({len(all_samples)} samples there)")
        vcf.set_samples(list(samples))
        order = [list(vcf.samples).index(s) for s in samples]  # cyvcf2 keeps the file's order
    else:
        order = list(range(len(all_samples)))
    sample_id = all_samples if samples is None else list(samples)
    contigs = list(vcf.seqnames) if _has_contig_lines(vcf) else []
    records, index_offset = _records(vcf, path, region)
    contig_names = list(contigs)
    contig_lookup = {name: i for i, name in enumerate(contig_names)}
    positions, contig_index, alleles, ids, indices = [], [], [], [], []
    calls, phased = [], []
    ploidy = 1
    for index, v in records:
        if v.CHROM not in contig_lookup:
            contig_lookup[v.CHROM] = len(contig_names)
            contig_names.append(v.CHROM)
        contig_index.append(contig_lookup[v.CHROM])
        positions.append(v.POS)
        alts = [a for a in v.ALT] if v.ALT else []
        alleles.append([v.REF] + alts)
        ids.append(v.ID or ".")
        indices.append(index + index_offset)
        if genotypes and sample_id:
            g = v.genotype.array()  # (samples, ploidy + 1), last column the phase flag
            ploidy = max(ploidy, g.shape[1] - 1)
            calls.append(g[order, :-1])
            phased.append(g[order, -1].astype(bool))
    n = len(positions)
    width = max((len(a) for a in alleles), default=1)
    allele_array = np.full((n, width), "", dtype=object)
    for i, a in enumerate(alleles):
        allele_array[i, : len(a)] = a
    data = {
        "variant_contig": ("variants", np.array(contig_index, dtype=np.int32)),
        "variant_position": ("variants", np.array(positions, dtype=np.int64)),
        "variant_allele": (("variants", "alleles"), allele_array.astype(str)),
        "variant_id": ("variants", np.array(ids, dtype=str)),
        "variant_index": ("variants", np.array(indices, dtype=np.int64)),
        "contig_id": ("contigs", np.array(contig_names, dtype=str)),
    }
    if genotypes and sample_id:
        genotype = np.full((n, len(sample_id), ploidy), -2, dtype=np.int8)
        for i, g in enumerate(calls):
            genotype[i, :, : g.shape[1]] = np.where(g < -1, -2, g)
        data["call_genotype"] = (("variants", "samples", "ploidy"), genotype)
        data["call_genotype_phased"] = (("variants", "samples"), np.array(phased, dtype=bool).reshape(n, len(sample_id)))
    data["sample_id"] = ("samples", np.array(sample_id, dtype=str))
    return xr.Dataset(data)


def _has_contig_lines(vcf) -> bool:
    try:
        return bool(vcf.seqnames)
    except Exception:  # no ##contig lines and no index
        return False


def _records(vcf, path: Path, region: str | None):
    """(index among the file's records, record) pairs; indices count from the file's start."""
    if region is None:
        return enumerate(vcf), 0
    contig, start, end = parse_region(region)
    # Indices must match the whole file's order, so count the records before the
    # region by streaming: cheap next to scoring, and exact without an index format.
    query = contig if start is None else f"{contig}:{start}-{end if end is not None else ''}".rstrip("-")
    try:
        selected = list(vcf(query))
    except Exception as err:
        raise VariantFormatError(
            f"{path}: region {region!r} needs an index beside the file (.tbi or .csi; make one with "
            f"`bcftools index {path.name}`): {err}"
        ) from err
    if not selected:
        return iter(()), 0
    from cyvcf2 import VCF

    key = (selected[0].CHROM, selected[0].POS, selected[0].REF, tuple(selected[0].ALT))
    first = 0
    for first, v in enumerate(VCF(str(path), lazy=True)):
        if (v.CHROM, v.POS, v.REF, tuple(v.ALT)) == key:
            break
    keep = [(i, v) for i, v in enumerate(selected) if start is None or v.POS >= start]
    return iter(keep), first


def _read_vcf_zarr(path: Path, *, region, samples, genotypes) -> xr.Dataset:
    try:
        try:
            ds = xr.open_zarr(path, consolidated=True)
        except (KeyError, ValueError, FileNotFoundError):  # no consolidated metadata
            ds = xr.open_zarr(path, consolidated=False)
    except Exception as err:
        raise VariantFormatError(f"{path}: not a readable VCF Zarr store ({err})") from err
    need = ["variant_contig", "variant_position", "variant_allele", "contig_id"]
    missing = [n for n in need if n not in ds]
    if missing:
        raise VariantFormatError(f"{path}: not a VCF Zarr store (missing {', '.join(missing)})")
    n = ds.sizes["variants"]
    keep = np.arange(n)
    if region is not None:
        contig, start, end = parse_region(region)
        names = [str(c) for c in ds.contig_id.values]
        if contig not in names:
            raise VariantFormatError(f"{path}: region contig {contig!r} is not among its contigs ({', '.join(names[:10])})")
        c = names.index(contig)
        pos = ds.variant_position.values
        mask = ds.variant_contig.values == c
        if start is not None:
            mask &= pos >= start
        if end is not None:
            mask &= pos <= end
        keep = np.flatnonzero(mask)
    out = ds.isel(variants=keep)
    if samples is not None and "sample_id" in ds:
        names = [str(s) for s in ds.sample_id.values]
        unknown = [s for s in samples if s not in names]
        if unknown:
            raise VariantFormatError(f"{path}: samples not in the store: {', '.join(unknown[:5])}")
        out = out.isel(samples=[names.index(s) for s in samples])
    variables = ["variant_contig", "variant_position", "variant_allele", "contig_id"]
    variables += [v for v in ("variant_id", "sample_id") if v in out]
    if genotypes:
        variables += [v for v in ("call_genotype", "call_genotype_phased") if v in out]
    out = out[variables].load()
    for name in ("variant_allele", "variant_id", "sample_id", "contig_id"):
        if name in out:  # numpy StringDType or object -> fixed-width str, as the VCF reader gives
            out[name] = (out[name].dims, np.array(out[name].values.tolist(), dtype=str).reshape(out[name].shape))
    out = out.assign(variant_index=("variants", keep.astype(np.int64)))
    if "variant_id" not in out:
        out["variant_id"] = ("variants", np.full(out.sizes["variants"], ".", dtype=str))
    if "call_genotype" in out:
        out["call_genotype"] = out.call_genotype.astype(np.int8)
        if "call_genotype_phased" not in out:
            out["call_genotype_phased"] = xr.zeros_like(out.call_genotype.isel(ploidy=0), dtype=bool)
    return out.reset_coords()
