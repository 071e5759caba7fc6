"""The data owner approves a collection before it goes to a public target (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _stac_fixtures import LAYOUT, build_chain
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.stac import extensions as ext
from sporbar.stac.approval import APPROVAL, UnapprovedError, approval_file, check_approved
from sporbar.stac.catalog import build_catalog


@pytest.fixture
def published(tmp_path: Path):
    chain = build_chain(tmp_path)
    build_catalog([chain.map], chain.catalog, cfg=chain.cfg, layout=LAYOUT)
    return chain


def _approve(chain, *args: str):
    return CliRunner().invoke(cli, ["approve", *args, "--by", "Kari Nordmann", "-c", str(chain.cfg_path)])


def _said(r) -> str:
    """What a command said: its output, or the named error main() prints for it."""
    return r.output + ("" if r.exception is None else str(r.exception))


def _collection(chain, cid: str) -> dict:
    return json.loads((chain.catalog.parent / cid / "collection.json").read_text())


def test_unapproved_catalog_is_refused_for_pgstac_before_any_connection(published) -> None:
    # refused before the database is asked: the DSN points nowhere
    r = CliRunner().invoke(cli, ["publish", "-c", str(published.cfg_path), "-o", str(published.catalog),
                                 "--to", "pgstac", "--dsn", "postgresql://x@127.0.0.1:1/none"])
    assert r.exit_code != 0
    assert "not approved for their current items" in _said(r)
    assert f"{ext.COLLECTION_MAPS}: never approved" in _said(r) and "cannot connect" not in _said(r)


def test_approve_records_who_when_which_and_shows_it(published) -> None:
    r = _approve(published, ext.COLLECTION_MAPS, "--note", "checked against field plots")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{ext.COLLECTION_MAPS}: approved by Kari Nordmann at ")
    record = json.loads(approval_file(published.cfg.root, ext.COLLECTION_MAPS).read_text())
    [entry] = record["approvals"]
    assert entry["by"] == "Kari Nordmann" and entry["note"] == "checked against field plots"
    assert list(entry["items"]) == [json.loads(published.map.read_text())["id"]]
    shown = _collection(published, ext.COLLECTION_MAPS)[APPROVAL]
    assert shown["by"] == "Kari Nordmann" and shown["items"] == 1
    # only the maps are approved: the others still block publication, named
    with pytest.raises(UnapprovedError) as err:
        check_approved(published.catalog, published.cfg.root)
    assert ext.COLLECTION_MAPS not in str(err.value) and ext.COLLECTION_MODELS in str(err.value)
    # a re-publish keeps showing the approval while the items are the same
    build_catalog([published.map], published.catalog, cfg=published.cfg, layout=LAYOUT)
    assert _collection(published, ext.COLLECTION_MAPS)[APPROVAL]["by"] == "Kari Nordmann"


def test_a_changed_item_needs_a_new_approval(published) -> None:
    assert _approve(published, "--all").exit_code == 0
    check_approved(published.catalog, published.cfg.root)  # all approved: no error
    d = json.loads(published.map.read_text())
    d["properties"]["sporbar:note"] = "re-run with other labels"
    published.map.write_text(json.dumps(d))
    build_catalog([published.map], published.catalog, cfg=published.cfg, layout=LAYOUT)
    assert APPROVAL not in _collection(published, ext.COLLECTION_MAPS)
    assert APPROVAL in _collection(published, ext.COLLECTION_MODELS)
    with pytest.raises(UnapprovedError, match=f"{ext.COLLECTION_MAPS}: {d['id']} changed"):
        check_approved(published.catalog, published.cfg.root)
    assert _approve(published, ext.COLLECTION_MAPS).exit_code == 0
    check_approved(published.catalog, published.cfg.root)
    history = json.loads(approval_file(published.cfg.root, ext.COLLECTION_MAPS).read_text())["approvals"]
    assert len(history) == 2  # the older approval is kept


def test_bad_approvals(published) -> None:
    r = _approve(published, "no-such-collection")
    assert r.exit_code != 0 and "no collection 'no-such-collection' in the catalog" in _said(r)
    r = CliRunner().invoke(cli, ["approve", "--all", "--by", "  ", "-c", str(published.cfg_path)])
    assert r.exit_code != 0 and "--by must name the person" in _said(r)
    r = CliRunner().invoke(cli, ["approve", "--by", "X", "-c", str(published.cfg_path)])
    assert r.exit_code != 0 and "name at least one COLLECTION" in _said(r)
