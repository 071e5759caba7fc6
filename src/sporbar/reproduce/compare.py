"""Say what differs between two versions of an asset.

Pixels for rasters, arrays for Zarr, rows for Parquet, values for JSON, size and checksum for
anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sporbar.io import sha256_multihash, size_of

RASTER_SUFFIXES = {".tif", ".tiff", ".jp2"}


def describe_difference(original: Path, reproduced: Path) -> str:
    """One line saying how ``reproduced`` differs from ``original`` (both exist)."""
    try:
        if original.is_dir() and reproduced.is_dir():
            return _zarr_or_tree(original, reproduced)
        suffix = original.suffix.lower()
        if suffix in RASTER_SUFFIXES:
            return _raster(original, reproduced)
        if suffix == ".parquet":
            return _parquet(original, reproduced)
        if suffix == ".json":
            return _json(original, reproduced)
    except Exception as err:  # a damaged file is itself a difference: say so, then the bytes
        return f"cannot be compared in detail ({type(err).__name__}: {err}); {_bytes(original, reproduced)}"
    return _bytes(original, reproduced)


def _bytes(a: Path, b: Path) -> str:
    sa, sb = size_of(a), size_of(b)
    size = f"size {sa} -> {sb} bytes" if sa != sb else f"same size ({sa} bytes)"
    return f"{size}, checksum {sha256_multihash(a)[4:16]}.. -> {sha256_multihash(b)[4:16]}.."


def _array_diff(a: np.ndarray, b: np.ndarray) -> tuple[int, float, int]:
    """(differing elements, max |a-b| over them, total elements); NaN equals NaN."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        af, bf = a.astype("float64"), b.astype("float64")
        both_nan = np.isnan(af) & np.isnan(bf)
        neq = (af != bf) & ~both_nan
        one_nan = neq & (np.isnan(af) | np.isnan(bf))
        finite = neq & ~one_nan
        mx = float(np.max(np.abs(af[finite] - bf[finite]))) if finite.any() else 0.0
        if one_nan.any():
            mx = float("inf")
    else:
        neq = a != b
        mx = float(np.max(np.abs(a[neq].astype("float64") - b[neq].astype("float64")))) if neq.any() else 0.0
    return int(neq.sum()), mx, int(a.size)


def _raster(a: Path, b: Path) -> str:
    import rasterio

    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        if (ra.count, ra.height, ra.width) != (rb.count, rb.height, rb.width):
            return (f"shape {ra.count}x{ra.height}x{ra.width} -> {rb.count}x{rb.height}x{rb.width}; "
                    + _bytes(a, b))
        if ra.dtypes != rb.dtypes:
            return f"dtype {ra.dtypes[0]} -> {rb.dtypes[0]}; " + _bytes(a, b)
        n, mx, total = _array_diff(ra.read(), rb.read())
        meta: list[str] = []
        if ra.transform != rb.transform:
            meta.append("transform")
        if ra.crs != rb.crs:
            meta.append("crs")
        if ra.nodata != rb.nodata and not (ra.nodata is not None and rb.nodata is not None
                                           and np.isnan(ra.nodata) and np.isnan(rb.nodata)):
            meta.append("nodata")
        if ra.tags() != rb.tags():
            keys = sorted(k for k in set(ra.tags()) | set(rb.tags()) if ra.tags().get(k) != rb.tags().get(k))
            meta.append("tags " + ",".join(keys))
        if ra.descriptions != rb.descriptions:
            meta.append("band descriptions")
        if ra.profile.get("compress") != rb.profile.get("compress"):
            meta.append("compression")
    pixels = (f"{n} of {total} pixels differ, max |diff| {mx:.6g}" if n
              else "pixels identical")
    extra = f"; metadata differs: {', '.join(meta)}" if meta else ""
    if not n and not meta:
        extra = "; bytes differ (layout/encoding)"
    return pixels + extra + "; " + _bytes(a, b)


def _zarr_or_tree(a: Path, b: Path) -> str:
    fa = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    changed = sorted(f for f in fa & fb if sha256_multihash(a / f) != sha256_multihash(b / f))
    parts = []
    if fa - fb:
        parts.append(f"{len(fa - fb)} files missing ({', '.join(sorted(fa - fb)[:3])})")
    if fb - fa:
        parts.append(f"{len(fb - fa)} extra files ({', '.join(sorted(fb - fa)[:3])})")
    if changed:
        parts.append(f"{len(changed)} of {len(fa & fb)} files differ ({', '.join(changed[:4])})")
    if (a / ".zmetadata").exists() or (a / "zarr.json").exists():
        parts.append(_zarr_values(a, b))
    return "; ".join(parts) or "same files and bytes"


def _zarr_values(a: Path, b: Path) -> str:
    import xarray as xr

    da_, db_ = xr.open_zarr(a), xr.open_zarr(b)
    out = []
    for name in sorted(set(da_.data_vars) | set(da_.coords)):
        if name not in db_:
            out.append(f"{name}: missing")
            continue
        x, y = np.asarray(da_[name].values), np.asarray(db_[name].values)
        if x.shape != y.shape:
            out.append(f"{name}: shape {x.shape} -> {y.shape}")
            continue
        if x.dtype.kind in "iufcb" and y.dtype.kind in "iufcb":
            n, mx, total = _array_diff(x, y)
            if n:
                out.append(f"{name}: {n} of {total} values differ, max |diff| {mx:.6g}")
        elif not np.array_equal(x, y):
            out.append(f"{name}: values differ")
    if da_.attrs != db_.attrs:
        out.append("attrs differ")
    return "values: " + ("; ".join(out) if out else "identical (only encoding/metadata bytes differ)")


def _parquet(a: Path, b: Path) -> str:
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    if ta.schema.remove_metadata() != tb.schema.remove_metadata():
        return "schema differs; " + _bytes(a, b)
    if ta.num_rows != tb.num_rows:
        return f"rows {ta.num_rows} -> {tb.num_rows}; " + _bytes(a, b)
    cols = [c for c in ta.column_names if not ta.column(c).equals(tb.column(c))]
    meta = "" if (ta.schema.metadata or {}) == (tb.schema.metadata or {}) else "; schema metadata differs"
    what = f"columns differ: {', '.join(cols[:6])}" if cols else "same rows and values"
    return f"{what}{meta}; " + _bytes(a, b)


def _json(a: Path, b: Path) -> str:
    ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
    diffs = json_differences(ja, jb)
    what = f"values differ at {', '.join(diffs[:5])}{' ...' if len(diffs) > 5 else ''}" if diffs \
        else "same values (formatting differs)"
    return f"{what}; " + _bytes(a, b)


def json_differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """JSON paths where ``a`` and ``b`` differ (NaN equals NaN; floats compared exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}")
            else:
                out += json_differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}[len {len(a)}->{len(b)}]"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += json_differences(x, y, f"{path}[{i}]")
        return out
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return []
    return [] if a == b and type(a) is type(b) else [path]
