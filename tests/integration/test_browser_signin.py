"""Staff sign in to STAC Browser, for real: PostgreSQL + pgstac with the maps restricted,
`sporbar serve -c` validating tokens of a loopback OpenID Connect issuer, the built STAC
Browser driven by headless Chromium (web/e2e/sign_in.cjs).

Anonymous, the restricted collection is not on the root page; after "Logg inn" with a token
it is, its item opens and its class map's tiles are drawn (the tiles carry the token as the
session cookie, since map tiles carry no header); after "Logg ut" it is gone again.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from _map_fixture import served_map_chain
from _services import ARTIFACTS, REPO, build_browser, ensure_chromium, require_root

from sporbar.serve.issuer import LoopbackIssuer
from sporbar.stac import extensions as ext
from sporbar.stac.collections import translation

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

SIGN_IN = REPO / "web" / "e2e" / "sign_in.cjs"
#: the STAC API answers STAC Browser in its default language, bokmål (sporbar.serve.language)
MAPS_TITLE = translation(ext.COLLECTION_MAPS)["title"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_root("the STAC Browser sign-in test")
    build_browser()
    chromium = ensure_chromium()
    tmp = tmp_path_factory.mktemp("signin")
    with LoopbackIssuer() as issuer:
        config = {
            "catalog": {"access": {ext.COLLECTION_MAPS: "restricted"}},
            "serve": {"auth": {"oidc_discovery_url": issuer.discovery_url, "audiences": ["sporbar"]}},
        }
        with served_map_chain(tmp, wait="/browser/", config=config, serve_config=True) as served:
            yield {**served, "issuer": issuer, "chromium": chromium}


def test_staff_sign_in_opens_restricted_maps_in_the_browser(stack) -> None:
    server, chain = stack["server"], stack["chain"]
    item_id = json.loads(chain.maps[0].read_text())["id"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "stac-browser-sign-in.png"
    cmd = [
        "node", str(SIGN_IN),
        "--url", server.base + "/browser/",
        "--token", stack["issuer"].token(),
        "--collection", MAPS_TITLE,
        "--item", item_id,
        "--screenshot", str(shot),
        "--chromium", stack["chromium"],
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"sign_in.cjs gave no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    (ARTIFACTS / "stac-browser-sign-in.json").write_text(json.dumps(result, indent=2))
    assert not result["errors"], result["errors"]
    assert result["anonymousCards"], result  # open collections are listed to anyone
    assert MAPS_TITLE not in result["anonymousCards"], result["anonymousCards"]
    assert MAPS_TITLE in result["signedInCards"], result["signedInCards"]
    assert result["logoutShown"], "after signing in the header offers Logg ut"
    assert result["cookie"] and result["cookie"]["session"], result["cookie"]  # gone with the window
    assert result["title"] == item_id
    # the restricted map's class map is drawn: its tiles answered 200 with the cookie, none refused
    tiles = [t for t in result["tileRequests"] if f"/collections/{ext.COLLECTION_MAPS}/items/" in t]
    assert tiles, (result["tileRequests"], result["refusedTiles"], result["failedRequests"])
    assert not result["refusedTiles"], result["refusedTiles"]
    # signed out: anonymous again
    assert MAPS_TITLE not in result["afterSignOut"]["cards"], result["afterSignOut"]
    assert result["afterSignOut"]["loginShown"], result["afterSignOut"]
