"""A published catalog of the small STAC chain, for the metadata / lineage-picture tests."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from _stac_fixtures import LAYOUT, Chain, build_chain
from conftest import SHARED

from sporbar.metadata.catalog import PublishedCatalog, read_catalog
from sporbar.stac.catalog import build_catalog

ISO_BUNDLE = SHARED / "iso19139"


@dataclass
class Published:
    chain: Chain
    catalog: Path
    cat: PublishedCatalog


def publish_chain(tmp: Path) -> Published:
    """Build the chain below ``tmp`` and publish it (every ancestor of the map)."""
    chain = build_chain(tmp)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return Published(chain=chain, catalog=chain.catalog, cat=read_catalog(chain.catalog))


def iso_validator() -> ModuleType | None:
    """``../shared/iso19139/validate_iso.py`` as a module, or None if the bundle is absent."""
    path = ISO_BUNDLE / "validate_iso.py"
    if not path.is_file():
        return None
    name = "shared_validate_iso"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # its dataclasses look their module up while being defined
    spec.loader.exec_module(mod)
    return mod
