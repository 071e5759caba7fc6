"""``sporbar search s2|s1|lidar``: find the products a real source has for the config's area.

Writes the search result file that the Snakemake ``search_s2``/``search_s1``/``search_lidar``
checkpoints produce and that ``sporbar fetch ... --source`` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sporbar.cli.options import config_option, load_config

if TYPE_CHECKING:
    from sporbar.config import Config

# The S2 sources' search functions, all called with the config only (dhus.search takes a section too).
_SearchFn = Callable[["Config"], tuple[dict[str, Any], list[dict[str, Any]]]]

_out = click.option("-o", "--output", "output", required=True,
                    type=click.Path(dir_okay=False, path_type=Path), help="Search result JSON to write.")


@click.group("search")
def search() -> None:
    """Search a real source (DHuS, STAC API, local archive) for the area, dates and filters."""


@search.command("s2")
@config_option
@_out
def search_s2(config_path: Path, output: Path) -> None:
    """Search sources.sentinel2 (dhus, stac_api or local) and write the scene list.

    \b
      $ export SPORBAR_DHUS_USER=... SPORBAR_DHUS_PASSWORD=...   # or ~/.netrc
      $ sporbar search s2 -c config/myarea.yaml -o results/raw/sentinel-2-l2a/search.json
    """
    from sporbar.errors import ConfigError
    from sporbar.fetch.search import write_search

    cfg = load_config(config_path)
    kind = cfg.data["sources"]["sentinel2"]["source"]
    run: _SearchFn
    if kind == "dhus":
        from sporbar.fetch.dhus import search as run
    elif kind == "stac_api":
        from sporbar.fetch.stac_api import search as run
    elif kind == "local":
        from sporbar.fetch.local import search as run
    else:
        raise ConfigError(f"{config_path}: sources.sentinel2.source is {kind!r}: the demo source needs no search")
    query, scenes = run(cfg)
    write_search(output, kind, query, scenes)
    click.echo(f"{output}: {len(scenes)} scenes from {kind}")


@search.command("s1")
@config_option
@_out
def search_s1(config_path: Path, output: Path) -> None:
    """Search sources.sentinel1 (dhus, stac_api or local) for GRD products and write the list.

    Filters: sources.sentinel1.sensor_mode (default IW) and .polarisation (e.g. "VV VH").

    \b
      $ export SPORBAR_DHUS_USER=... SPORBAR_DHUS_PASSWORD=...   # or ~/.netrc
      $ sporbar search s1 -c config/myarea.yaml -o results/raw/sentinel-1-grd/search.json
    """
    from sporbar.fetch.s1_sources import search as run
    from sporbar.fetch.search import write_search

    kind, query, scenes = run(load_config(config_path))
    write_search(output, kind, query, scenes)
    click.echo(f"{output}: {len(scenes)} Sentinel-1 GRD products from {kind}")


@search.command("lidar")
@config_option
@_out
def search_lidar(config_path: Path, output: Path) -> None:
    """Search sources.lidar (stac_api, urls or local) for tiles overlapping the area.

    \b
      $ sporbar search lidar -c config/myarea.yaml -o results/raw/lidar/search.json
    """
    from sporbar.fetch.lidar_sources import search as run
    from sporbar.fetch.search import write_search

    cfg = load_config(config_path)
    query, tiles = run(cfg)
    write_search(output, cfg.data["sources"]["lidar"]["source"], query, tiles)
    click.echo(f"{output}: {len(tiles)} lidar tiles")
