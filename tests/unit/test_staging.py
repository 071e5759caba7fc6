"""NIRD staging: verified, atomic, resumable copies with a manifest; the `stage` command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sporbar.cli.main import cli
from sporbar.config import load
from sporbar.errors import MissingInputError
from sporbar.io import sha256_multihash
from sporbar.workflow import staging

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
    (root / "sub" / "deep" / "c.json").write_text('{"c": 3}\n')
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_copies_tree_with_checksums(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    m = staging.stage(src, tmp_path / "dst")
    assert _files(tmp_path / "dst") == _files(src)
    assert m.copied == 3 and m.kept == 0
    for entry in m.files:
        f = src / entry["path"]
        assert entry["checksum"] == sha256_multihash(f) and entry["checksum"].startswith("1220")
        assert entry["size"] == f.stat().st_size


def test_copies_single_file_and_keeps_mtime(tmp_path: Path) -> None:
    src = tmp_path / "labels.gpkg"
    src.write_bytes(b"gpkg" * 100)
    m = staging.stage(src, tmp_path / "work" / "labels" / "labels.gpkg")
    dst = tmp_path / "work" / "labels" / "labels.gpkg"
    assert dst.read_bytes() == src.read_bytes()
    assert dst.stat().st_mtime == pytest.approx(src.stat().st_mtime, abs=1e-3)
    assert [f["path"] for f in m.files] == ["labels.gpkg"]


def test_resume_keeps_identical_files(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    dst = tmp_path / "dst"
    staging.stage(src, dst)
    before = {p: p.stat().st_mtime_ns for p in dst.rglob("*") if p.is_file()}
    (src / "new.txt").write_text("late\n")
    m = staging.stage(src, dst)
    assert (m.copied, m.kept) == (1, 3)
    assert {f["path"]: f["action"] for f in m.files}["new.txt"] == "copied"
    assert {p: p.stat().st_mtime_ns for p in before} == before  # untouched


def test_corrupted_destination_is_copied_again(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    dst = tmp_path / "dst"
    staging.stage(src, dst)
    bad = dst / "sub" / "b.bin"
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF  # same size, different content
    bad.write_bytes(bytes(data))
    (dst / "a.txt").write_text("trunc")  # different size
    m = staging.stage(src, dst)
    actions = {f["path"]: f["action"] for f in m.files}
    assert actions == {"a.txt": "copied", "sub/b.bin": "copied", "sub/deep/c.json": "kept"}
    assert _files(dst) == _files(src)


def test_manifest_content(tmp_path: Path) -> None:
    root = tmp_path / "results"
    _tree(root / "catalog")
    _tree(root / "maps")
    m = staging.stage_many([root / "catalog", root / "maps"], tmp_path / "nird" / "area")
    m.write(tmp_path / "manifest.json")
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["version"] == 1
    assert doc["destination"] == str(tmp_path / "nird" / "area")
    paths = [f["path"] for f in doc["files"]]
    assert paths == sorted(paths) and len(paths) == 6
    assert "catalog/sub/deep/c.json" in paths and "maps/a.txt" in paths
    for f in doc["files"]:
        target = tmp_path / "nird" / "area" / f["path"]
        assert sha256_multihash(target) == f["checksum"]
        assert target.stat().st_size == f["size"]
    assert doc["summary"]["files"] == 6 and doc["summary"]["copied"] == 6
    assert doc["summary"]["bytes"] == sum(f["size"] for f in doc["files"])


def test_failed_copy_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _tree(tmp_path / "src")
    dst = tmp_path / "dst"
    real = shutil.copy2

    def half_copy(a: str, b: str, *args: object, **kw: object) -> object:
        if Path(a).name == "b.bin":
            Path(b).write_bytes(Path(a).read_bytes()[:100])
            raise OSError(28, "No space left on device")
        return real(a, b, *args, **kw)

    monkeypatch.setattr(staging.shutil, "copy2", half_copy)
    with pytest.raises(staging.StagingError, match="No space left"):
        staging.stage(src, dst)
    # a.txt (copied before the failure) is complete; no b.bin, no temporaries left behind
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == ["a.txt", "sub"]
    monkeypatch.undo()
    m = staging.stage(src, dst)  # resume
    assert (m.copied, m.kept) == (2, 1) and _files(dst) == _files(src)


def test_checksum_mismatch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 1000)
    dst = tmp_path / "out" / "f.bin"
    real = shutil.copy2

    def flipping_copy(a: str, b: str, *args: object, **kw: object) -> object:
        real(a, b, *args, **kw)
        Path(b).write_bytes(b"y" * 1000)  # the copy went wrong silently
        return b

    monkeypatch.setattr(staging.shutil, "copy2", flipping_copy)
    with pytest.raises(staging.StagingError, match="checksum"):
        staging.stage(src, dst)
    assert not dst.exists() and list(dst.parent.iterdir()) == []


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match="NIRD"):
        staging.stage(tmp_path / "nope", tmp_path / "dst")


def test_cli_stage_and_require(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    runner = CliRunner()
    res = runner.invoke(cli, ["stage", str(src), str(tmp_path / "dst"), "--manifest", str(tmp_path / "m.json")])
    assert res.exit_code == 0, res.output
    assert "3 copied" in res.output and json.loads((tmp_path / "m.json").read_text())["summary"]["copied"] == 3
    res = runner.invoke(cli, ["stage", str(src), str(tmp_path / "dst")])
    assert res.exit_code == 0 and "0 copied" in res.output and "3 already in place" in res.output
    res = runner.invoke(cli, ["stage", str(src), str(tmp_path / "x"), "--require", str(tmp_path / "nird")])
    assert res.exit_code != 0 and not (tmp_path / "x").exists()


def _config(tmp_path: Path, staging_block: str) -> Path:
    text = (REPO / "config" / "config.yaml").read_text()
    text = text.replace("root: results", f"root: {tmp_path / 'work'}")
    p = tmp_path / "c.yaml"
    p.write_text(text + "\n" + staging_block)
    return p


def test_config_in_and_out(tmp_path: Path) -> None:
    nird = tmp_path / "nird"
    (nird / "labels").mkdir(parents=True)
    (nird / "labels" / "l.gpkg").write_bytes(b"labels")
    cfg_path = _config(
        tmp_path,
        f"staging:\n  enabled: true\n  nird_root: {nird}\n  inputs: [labels/l.gpkg]\n  outputs: [catalog, maps]\n",
    )
    cfg = load(cfg_path)
    assert staging.stage_in_pairs(cfg) == [(nird / "labels" / "l.gpkg", tmp_path / "work" / "labels" / "l.gpkg")]
    runner = CliRunner()
    res = runner.invoke(cli, ["stage", "-c", str(cfg_path), "--direction", "in"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "work" / "labels" / "l.gpkg").read_bytes() == b"labels"
    _tree(tmp_path / "work" / "catalog")
    _tree(tmp_path / "work" / "maps")
    res = runner.invoke(cli, ["stage", "-c", str(cfg_path), "--direction", "out"])
    assert res.exit_code == 0, res.output
    assert _files(nird / "demo-gauldal" / "catalog") == _files(tmp_path / "work" / "catalog")
    assert (nird / "demo-gauldal" / "maps" / "sub" / "b.bin").is_file()


def test_check_says_whether_nird_is_visible(tmp_path: Path) -> None:
    """`stage --check` (slurm/submit.sh): 0 when NIRD is mounted here or staging is off, else 3."""
    runner = CliRunner()
    off = _config(tmp_path, "staging:\n  enabled: false\n")
    assert runner.invoke(cli, ["stage", "-c", str(off), "--check"]).exit_code == 0
    nird = tmp_path / "nird"
    on = _config(tmp_path, f"staging:\n  enabled: true\n  nird_root: {nird}\n")
    res = runner.invoke(cli, ["stage", "-c", str(on), "--check"])
    assert res.exit_code == 3 and f"{nird}: not found on" in res.output and "login node" in res.output
    nird.mkdir()
    res = runner.invoke(cli, ["stage", "-c", str(on), "--check"])
    assert res.exit_code == 0 and "visible here" in res.output


def test_schema_staging_section(tmp_path: Path) -> None:
    from sporbar.errors import ConfigError

    assert "staging" not in load(REPO / "config" / "config.yaml").data  # absent: config hash unchanged
    with pytest.raises(ConfigError, match="nird_root"):
        load(_config(tmp_path, "staging:\n  enabled: true\n"))
    with pytest.raises(ConfigError, match="staging"):
        load(_config(tmp_path, "staging:\n  enabled: false\n  nird_rot: /x\n"))
    with pytest.raises(ConfigError, match="outputs"):
        load(_config(tmp_path, "staging:\n  outputs: [raw]\n"))
    cfg = load(_config(tmp_path, "staging:\n  enabled: false\n"))
    s = staging.settings(cfg)
    assert s["work_root"] == str(tmp_path / "work") and s["outputs"] == list(staging.OUTPUTS)
