"""``sporbar cube``: the ARD of a bbox and time range, across tiles, as one datacube."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("cube")
@click.argument("catalog", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bbox", nargs=4, type=float, default=None, help="minx miny maxx maxy (default: every ARD tile).")
@click.option("--bbox-crs", default=None, help="CRS of --bbox, e.g. EPSG:4326 (default: the grid's).")
@click.option("--time", "time", default=None, help="START/END, ISO dates, inclusive; '..' for open.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the cube to this Zarr store (default: only print what it holds).",
)
def cube(
    catalog: Path, bbox: tuple[float, ...] | None, bbox_crs: str | None, time: str | None, output: Path | None
) -> None:
    """Open the ARD of the catalog's tiles in a bbox and time range as one datacube on the grid.

    Every clear observation (cloud-masked surface reflectance, NaN where not clear) of every
    tile the bbox touches, one lazy xarray Dataset in Python (`sporbar.open_cube`), or a Zarr
    store with -o.

    \b
      $ sporbar cube results/catalog/catalog.json --bbox 268800 7029760 270080 7031040 \\
          --time 2024-06-01/2024-08-31
      $ sporbar cube results/catalog/catalog.json --bbox 10.0 63.2 10.1 63.3 --bbox-crs EPSG:4326 -o aoi.zarr
    \b
      >>> import sporbar
      >>> cube = sporbar.open_cube("results/catalog/catalog.json", bbox=(268800, 7029760, 270080, 7031040))
    """
    from sporbar.ard.mosaic import open_cube
    from sporbar.io import atomic_path

    ds = open_cube(catalog, bbox=bbox, time=time, bbox_crs=bbox_crs)
    r = ds["reflectance"]
    x0, y1 = float(ds.x.min()), float(ds.y.max())
    res = float(abs(ds.x[1] - ds.x[0])) if ds.sizes["x"] > 1 else 0.0
    click.echo(
        f"{len(ds.attrs['tiles'])} tile(s), {ds.sizes['time']} date(s), bands {', '.join(map(str, ds.band.values))}, "
        f"{ds.sizes['y']} x {ds.sizes['x']} px from ({x0 - res / 2:.0f}, {y1 + res / 2:.0f}) "
        f"in EPSG:{ds.odc.crs.epsg}; {r.nbytes / 2**20:.1f} MiB when loaded"
    )
    if output is not None:
        with atomic_path(output) as tmp:
            # Zarr v2 like the tile cubes it reads (their codecs carry over)
            ds.drop_vars("spatial_ref", errors="ignore").to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        click.echo(f"written: {output}")
