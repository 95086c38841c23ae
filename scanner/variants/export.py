"""Effects out: a TSV with one row per ALT allele, and the source VCF with INFO fields."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

log = logging.getLogger(__name__)

SCORES = ("ref_prediction", "alt_prediction", "difference", "log2_ratio")
_INFO_NAMES = {"ref_prediction": "REF", "alt_prediction": "ALT", "difference": "DIFF", "log2_ratio": "LOG2"}


class ExportError(ValueError):
    """Effects that do not line up with the VCF they are written into."""


def _target_key(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", target)


def allele_rows(effects: xr.Dataset) -> pd.DataFrame:
    """One row per (variant, ALT allele) with its status and best-window scores.

    Columns: ``contig``, ``position`` (1-based), ``id``, ``ref``, ``alt``,
    ``status``, ``windows_scored``, then ``<score>_<target>`` for each score and
    target.
    """
    ds = effects[[n for n in effects.data_vars if n.startswith("variant_") or n in ("contig_id", "target_id")]].load()
    alleles = ds.variant_allele.values
    status = ds.variant_allele_status.values
    v, a = np.nonzero(status != "")
    contig_names = ds.contig_id.values.astype(str)
    table = {
        "contig": contig_names[ds.variant_contig.values[v]],
        "position": ds.variant_position.values[v],
        "id": ds.variant_id.values[v].astype(str) if "variant_id" in ds else ".",
        "ref": alleles[v, 0],
        "alt": alleles[v, a + 1],
        "status": status[v, a],
        "windows_scored": ds.variant_windows_scored.values[v, a],
    }
    for score in SCORES:
        values = ds[f"variant_{score}"].values[v, a]
        for t, target in enumerate(ds.target_id.values.astype(str)):
            table[f"{score}_{target}"] = values[:, t]
    return pd.DataFrame(table)


def to_tsv(effects: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`allele_rows` as a TSV (NaN written as ``NA``)."""
    path = Path(path)
    allele_rows(effects).to_csv(path, sep="\t", index=False, na_rep="NA", float_format="%.6g")
    return path


def _format(values: np.ndarray) -> str:
    return ",".join("." if not np.isfinite(x) else f"{x:.6g}" for x in values)


def to_vcf(effects: xr.Dataset, source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write ``source`` again with the effects as INFO fields.

    Fields (``Number=A``, one value per ALT): ``CS_STATUS``, ``CS_WINDOWS`` and,
    per target, ``CS_REF_<target>``, ``CS_ALT_<target>``, ``CS_DIFF_<target>``,
    ``CS_LOG2_<target>`` (the window of largest absolute difference; ``.`` where
    not scored). Records not in the effects (outside a region) pass unchanged.

    Parameters
    ----------
    effects : xarray.Dataset
        From :func:`scanner.variants.score_variants`.
    source : path-like
        The VCF/BCF the effects were computed from.
    path : path-like
        ``.vcf.gz`` (bgzipped, indexable) or ``.vcf``.
    """
    from cyvcf2 import VCF, Writer

    path = Path(path)
    ds = effects[[n for n in effects.data_vars if n.startswith("variant_") or n in ("contig_id", "target_id")]].load()
    targets = [_target_key(t) for t in ds.target_id.values.astype(str)]
    vcf = VCF(str(source), lazy=True)
    if vcf.samples and "##FORMAT=<ID=GT," not in vcf.raw_header:  # htslib refuses to write undeclared tags
        vcf.add_format_to_header({"ID": "GT", "Number": "1", "Type": "String", "Description": "Genotype"})
    fields = [("CS_STATUS", "String", "cre-scanner: allele status (ok, ref_mismatch, symbolic, missing_contig, same_as_ref, outside_windows)"),
              ("CS_WINDOWS", "Integer", "cre-scanner: windows the allele was scored in")]
    for t, target in zip(targets, ds.target_id.values.astype(str)):
        for score, key in _INFO_NAMES.items():
            fields.append((f"CS_{key}_{t}", "Float", f"cre-scanner: {score.replace('_', ' ')} of target {target} "
                                                      f"({ds.attrs.get('prediction_scale', 'prediction')}), window of largest |difference|"))
    for name, kind, text in fields:
        vcf.add_info_to_header({"ID": name, "Number": "A", "Type": kind, "Description": text})
    row_of = {int(i): r for r, i in enumerate(ds.variant_index.values)}
    contig_names = ds.contig_id.values.astype(str)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.writing")
    writer = Writer(str(scratch), vcf, mode="wz" if path.name.endswith(".gz") else "w")
    try:
        for index, record in enumerate(vcf):
            r = row_of.get(index)
            line = str(record).rstrip("\n")
            if r is not None:
                if record.CHROM != contig_names[ds.variant_contig.values[r]] or record.POS != int(ds.variant_position.values[r]):
                    raise ExportError(
                        f"{source} record {index + 1} is {record.CHROM}:{record.POS} but the effects hold "
                        f"{contig_names[ds.variant_contig.values[r]]}:{int(ds.variant_position.values[r])}; "
                        "export into the VCF the effects were computed from"
                    )
                n_alt = len(record.ALT)
                status = ds.variant_allele_status.values[r, :n_alt]
                extra = [f"CS_STATUS={','.join(s or '.' for s in status)}",
                         f"CS_WINDOWS={','.join(str(int(x)) for x in ds.variant_windows_scored.values[r, :n_alt])}"]
                for score, key in _INFO_NAMES.items():
                    values = ds[f"variant_{score}"].values[r, :n_alt]
                    extra += [f"CS_{key}_{t}={_format(values[:, k])}" for k, t in enumerate(targets)]
                columns = line.split("\t")
                columns[7] = ";".join(extra) if columns[7] == "." else columns[7] + ";" + ";".join(extra)
                line = "\t".join(columns)
            writer.write_record(writer.variant_from_string(line))
    except BaseException:
        writer.close()
        scratch.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(scratch, path)
    return path
