"""A provenance chain whose map items are real: class COGs on the grid of the test area's two
tiles, built by the real map item builder (classification classes with legend colours).

Tile 1 (west): forest (1) in its west half, open water (5) in its east half.
Tile 2 (east): heath (3), with a no-data (0) strip along its north edge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from _services import add_to_config, stac_fixtures

from sporbar.raster import write_cog
from sporbar.stac.items.extent import period_span, tiles_bbox_wgs84
from sporbar.stac.items.map import map_item
from sporbar.stac.preview import add_thumbnail, write_thumbnail
from sporbar.stac.provenance import Provenance
from sporbar.stac.record import Step, record_item
from sporbar.stac.validate import validate_item_dict
from sporbar.workflow import plan

_fx = stac_fixtures()
PRODUCT = "land-ecology"
WEST, EAST = "E268800N7030400", "E269440N7030400"
FOREST, HEATH, WATER = 1, 3, 5


def class_colours(cfg: Any) -> dict[int, tuple[int, int, int]]:
    """Pixel value -> RGB of the config's legend (``classes[].color``)."""
    return {int(c["value"]): tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)) for c in cfg.data["classes"]}


def _classes(tile: str, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    arr = np.zeros(shape, dtype=np.uint8)
    if tile == WEST:
        arr[:, : cols // 2] = FOREST
        arr[:, cols // 2 :] = WATER
    else:
        arr[:, :] = HEATH
        arr[: rows // 8, :] = 0
    return arr


def build_map_chain(tmp: Path) -> Any:
    """The test chain of ``_stac_fixtures`` with its map replaced by two real map tiles.

    Returns:
        The chain; ``chain.maps`` lists both map item paths (``chain.map`` is the west one).
    """
    chain = _fx.build_chain(tmp)
    cfg = chain.cfg
    assert cfg.grid.tiles(tuple(cfg.data["area"]["bbox"])) == [WEST, EAST]
    start, end = period_span(cfg.data["ard"]["periods"])
    prov = Provenance(
        software={"sporbar": "0.1.0", "pystac": "1.15.2"},
        host="test-host",
        datetime="2024-10-01T00:00:00Z",
        code_version="sporbar==0.1.0",
        config_hash=cfg.hash,
    )
    maps = []
    for tile in (WEST, EAST):
        path = plan.path(cfg, "map", product=PRODUCT, tile=tile)
        for old in path.parent.glob("*"):
            old.unlink()
        geobox = cfg.grid.geobox(tile)
        legend = {value: (*rgb, 255) for value, rgb in class_colours(cfg).items()}
        classes = _classes(tile, tuple(geobox.shape.yx))
        write_cog(path.parent / "classes.tif", classes, geobox, nodata=0, colormap=legend)
        full = np.full(tuple(geobox.shape.yx), 80, dtype=np.uint8)
        write_cog(path.parent / "confidence.tif", full, geobox, nodata=255)
        write_cog(path.parent / "margin.tif", full, geobox, nodata=255)
        write_thumbnail(path.parent / "classes.tif", path.parent / "thumbnail.png", kind="classes")
        item = map_item(
            PRODUCT,
            tile,
            geobox=geobox,
            classes=cfg.data["classes"],
            start=start,
            end=end,
            bbox_wgs84=tiles_bbox_wgs84(cfg.grid, [tile]),
        )
        add_thumbnail(item, path.parent, "thumbnail.png", title="Classes in legend colours")
        d = record_item(
            item,
            path,
            inputs=[chain.ard, chain.model],
            step=Step(lineage=f"Classes predicted by model {_fx.MODEL}.", command="test"),
            provenance=prov,
        )
        validate_item_dict(d)
        maps.append(path)
    chain.map = maps[0]
    chain.maps = maps
    return chain


def map_item_json(path: Path) -> dict[str, Any]:
    """The map item as written."""
    return json.loads(path.read_text())


@contextmanager
def served_map_chain(
    tmp: Path,
    *,
    wait: str,
    config: dict[str, dict[str, Any]] | None = None,
    serve_config: bool = False,
) -> Iterator[dict[str, Any]]:
    """Two real map tiles published (static catalog, approved, loaded into a private pgstac) and
    `sporbar serve` on them; yields chain, server, legend colours and ``tmp``; stops everything after.

    Args:
        tmp: a fresh folder.
        wait: the path to wait for before yielding (``/api/``, ``/browser/``).
        config: sections merged into the chain's config before publishing (``catalog.access``, ``serve``).
        serve_config: give `sporbar serve` the config (``-c``, for ``serve.auth``).
    """
    from _services import Server, dsn, pg_dir, start_postgres, stop_postgres
    from click.testing import CliRunner

    from sporbar.cli.main import cli
    from sporbar.cli.publish import publish

    chain = build_map_chain(tmp)
    if config:
        add_to_config(chain, config)
    pg_folder = pg_dir()
    pg = start_postgres(pg_folder)
    server = None
    try:
        runner = CliRunner()
        built = runner.invoke(publish, ["-c", str(chain.cfg_path), "-o", str(chain.catalog), *map(str, chain.maps)])
        assert built.exit_code == 0, built.output
        approved = runner.invoke(cli, ["approve", "--all", "--by", "Test Owner", "-c", str(chain.cfg_path)])
        assert approved.exit_code == 0, approved.output
        args = ["-c", str(chain.cfg_path), "-o", str(chain.catalog), "--to", "pgstac", "--dsn", dsn(pg)]
        loaded = runner.invoke(publish, [*args, "--asset-base-url", "/data/"], catch_exceptions=False)
        assert loaded.exit_code == 0, loaded.output
        serve_args = ["--data-root", str(chain.root), *(["-c", str(chain.cfg_path)] if serve_config else [])]
        server = Server(serve_args, env=pg, log=tmp / "serve.log")
        server.wait(wait)
        yield {"chain": chain, "server": server, "colours": class_colours(chain.cfg), "tmp": tmp, "pg": pg}
    finally:
        if server is not None:
            server.stop()
        stop_postgres(pg_folder)
