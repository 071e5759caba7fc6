"""``sporbar search s2|s1|lidar``: find the products a real source has for the config's area.

Writes the search result file that the Snakemake ``search_s2``/``search_s1``/``search_lidar``
checkpoints produce and that ``sporbar fetch ... --source`` reads.
"""

from __future__ import annotations

from pathlib import Path

import click

from sporbar.cli.options import config_option, load_config

_out = click.option("-o", "--output", "output", required=True,
                    type=click.Path(dir_okay=False, path_type=Path), help="Search result JSON to write.")


def _search(config_path: Path, output: Path, mission: str, what: str) -> None:
    """Search the configured source of ``mission``, write the result file, say how much it found."""
    from sporbar.fetch.registry import search as run
    from sporbar.fetch.search import write_search

    kind, query, scenes = run(load_config(config_path), mission)
    write_search(output, kind, query, scenes)
    click.echo(f"{output}: {len(scenes)} {what} from {kind}")


@click.group("search")
def search() -> None:
    """Search a real source (DHuS, STAC API, local archive, URL list) for the area, dates and filters."""


@search.command("s2")
@config_option
@_out
def search_s2(config_path: Path, output: Path) -> None:
    """Search sources.sentinel2 (dhus, stac_api or local) and write the scene list.

    \b
      $ export SPORBAR_DHUS_USER=... SPORBAR_DHUS_PASSWORD=...   # or ~/.netrc
      $ sporbar search s2 -c config/myarea.yaml -o results/raw/sentinel-2-l2a/search.json
    """
    _search(config_path, output, "sentinel2", "scenes")


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
    _search(config_path, output, "sentinel1", "Sentinel-1 GRD products")


@search.command("lidar")
@config_option
@_out
def search_lidar(config_path: Path, output: Path) -> None:
    """Search sources.lidar (stac_api, urls or local) for tiles overlapping the area.

    \b
      $ sporbar search lidar -c config/myarea.yaml -o results/raw/lidar/search.json
    """
    _search(config_path, output, "lidar", "lidar tiles")
