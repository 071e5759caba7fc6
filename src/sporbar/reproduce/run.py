"""Re-run the step an item records and compare what comes out with what was delivered.

For one item:

1. read its recorded step (``processing:expression``: sub-command, parameters, rule) and its
   inputs (``derived_from`` links, relative to the item);
2. check every input item is there and every input asset still has its recorded
   ``file:checksum`` ("missing input" / "input changed" otherwise; the step is then not re-run);
3. find the data root (the nearest folder above the item with the run's effective
   config, ``config/effective-<hash>.yaml``) and check its hash against the item's ``sporbar:config_hash``;
4. mirror the inputs (hard links, or copies across file systems) into a temporary folder with
   the same layout below the root, and call the library function of the same sub-command
   there (:mod:`sporbar.reproduce.runners`) with the same config (only ``root`` changed), so
   relative links come out the same;
5. compare every asset per key: identical (same checksum) / different (with what differs) /
   missing, and warn when the recorded code version is not the running one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sporbar.config import EFFECTIVE_CONFIG_DIR, Config, config_hash, effective_config_path, load
from sporbar.errors import InputDataError, MissingInputError, SporbarError
from sporbar.io import load_yaml, sha256_multihash
from sporbar.reproduce.compare import describe_difference, json_differences
from sporbar.reproduce.isolate import RerunRequest, run_in_fresh_process
from sporbar.reproduce.mirror import mirror
from sporbar.reproduce.report import AssetResult, AssetStatus, InputCheck, InputStatus, Report, Verdict
from sporbar.reproduce.runners import describe_call
from sporbar.reproduce.steps import RecordedStep
from sporbar.stac import extensions as ext
from sporbar.stac.hrefs import RUN_CONFIG_FILENAME, is_inside, is_local_href, resolve_href, run_root
from sporbar.stac.provenance import code_version

ITEM_FILENAME = "item.json"

# item properties that describe the run, not the result: not compared
_RUN_PROPERTIES = {
    "processing:datetime", "processing:facility", "processing:software", "processing:expression",
    ext.SPORBAR_CODE_VERSION, ext.SPORBAR_CONFIG_HASH, ext.SPORBAR_IMAGE_DIGEST, ext.SPORBAR_SLURM,
}


@dataclass
class _Located:
    """An item found on disk, with the ``item.json`` its data lives beside."""

    path: Path  # the item file given (item.json, or a catalog copy)
    home: Path  # the item.json in the data folder (same as path outside a catalog)
    data: dict[str, Any]


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise MissingInputError(f"{path}: item not found")
    try:
        d: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputDataError(f"{path}: not valid JSON ({err})") from None
    if d.get("type") != "Feature":
        raise InputDataError(f"{path}: not a STAC item (type {d.get('type')!r})")
    return d


def outside_hrefs(path: Path, data: dict[str, Any], root: Path) -> list[str]:
    """One line per local href (asset or link) of the item at ``path`` that leaves ``root``.

    Reproduce never opens such a target: a delivery must not point outside itself.
    """
    out = []
    refs = [(f"asset {k!r}", a.get("href", "")) for k, a in sorted(data.get("assets", {}).items())]
    refs += [(f"{lk.get('rel')} link", lk.get("href", "")) for lk in data.get("links", []) if lk.get("rel") != "self"]
    for what, href in refs:
        if is_local_href(href) and not is_inside(resolve_href(href, path.parent), root):
            out.append(
                f"{path}: item {data.get('id')!r} {what} href {href!r} points outside the delivery {root}; "
                "reproduce does not open it"
            )
    return out


def locate(path: Path, root: Path) -> _Located:
    """Read the item at ``path`` and find the ``item.json`` beside its data, inside ``root``.

    A catalog copy (``catalog/<collection>/<id>/<id>.json``) links to that item (rel ``via``);
    a copy from before that link points at the data with relative asset hrefs, and the folder
    holding the data also holds the original ``item.json``. Nothing outside ``root`` is read.
    """
    path = Path(path).resolve()
    d = _read(path)
    if path.name == ITEM_FILENAME:
        return _Located(path, path, d)
    for link in d.get("links", []):
        if link.get("rel") == ext.VIA and is_local_href(link.get("href", "")):
            home = resolve_href(link["href"], path.parent)
            if is_inside(home, root) and home.is_file():
                return _Located(path, home, d)
    for asset in sorted(d.get("assets", {}).values(), key=lambda a: a["href"]):
        folder = resolve_href(asset["href"], path.parent).parent
        if not is_local_href(asset["href"]) or not is_inside(folder, root):
            continue
        for cand in (folder, *folder.parents):
            f = cand / ITEM_FILENAME
            if f.exists():
                try:
                    if json.loads(f.read_text()).get("id") == d.get("id"):
                        return _Located(path, f, d)
                except json.JSONDecodeError:
                    pass
            if cand in (path.parent.parent, root):
                break
    return _Located(path, path, d)


def find_root(path: Path) -> Path:
    """The data root of an item: the nearest folder above it holding the run's effective config.

    That is ``config/effective-<hash>.yaml``, or ``config.yaml`` in roots written before those.

    Raises:
        MissingInputError: no such folder.
    """
    root = run_root(path)
    if root is None:
        raise MissingInputError(
            f"{path}: no {EFFECTIVE_CONFIG_DIR}/effective-<hash>.yaml or {RUN_CONFIG_FILENAME} in any folder "
            "above the item: the run's effective config marks the delivery and is needed to re-run it"
        )
    return root


def run_config(root: Path, config_hash: str | None) -> Path:
    """The effective config of the run whose items record ``config_hash``, below ``root``."""
    if config_hash:
        path = effective_config_path(root, config_hash)
        if path.is_file():
            return path
    return root / RUN_CONFIG_FILENAME


class Reproducer:
    """Reproduces items; remembers input checks and configs across items (for ``--all``).

    Each step is re-run through the library in a fresh process, as the pipeline runs it
    (:mod:`sporbar.reproduce.isolate`).

    Args:
        config: the config to re-run with (default: each item's run's effective config, ``run_config``).
        workdir: where to make temporary folders (default: the system temp folder).
        keep: keep the temporary folders (their paths are reported as warnings).
        timeout: seconds one re-run may take.
    """

    def __init__(
        self, *, config: Path | None = None, workdir: Path | None = None, keep: bool = False, timeout: float = 3600
    ) -> None:
        """Set up a reproducer (see the class docstring for the arguments)."""
        self.config = Path(config).resolve() if config else None
        self.workdir = Path(workdir) if workdir else None
        self.keep = keep
        self.timeout = timeout
        self.running_code = code_version()
        self._inputs: dict[Path, InputCheck] = {}

    # ---- inputs ------------------------------------------------------------------------
    def check_input(self, link_target: Path, root: Path) -> tuple[InputCheck, _Located | None]:
        """Check one input item (a derived_from target inside ``root``) and every asset's checksum."""
        try:
            loc = locate(link_target, root)
        except SporbarError as err:
            return InputCheck(str(link_target), InputStatus.MISSING, str(err)), None
        if loc.home in self._inputs:
            return self._inputs[loc.home], loc
        outside = outside_hrefs(loc.path, loc.data, root)
        if outside:
            return InputCheck(f"{loc.home} ({loc.data.get('id')})", InputStatus.OUTSIDE, "; ".join(outside)), None
        changed, missing = [], []
        for key in sorted(loc.data.get("assets", {})):
            asset = loc.data["assets"][key]
            f = resolve_href(asset["href"], loc.path.parent)
            if not f.exists():
                missing.append(key)
            elif asset.get(ext.FILE_CHECKSUM) and sha256_multihash(f) != asset[ext.FILE_CHECKSUM]:
                changed.append(key)
        label = f"{loc.home} ({loc.data.get('id')})"
        if missing:
            check = InputCheck(label, InputStatus.MISSING, f"asset file(s) missing: {', '.join(missing)}")
        elif changed:
            check = InputCheck(
                label, InputStatus.CHANGED, f"checksum differs from the recorded file:checksum: {', '.join(changed)}"
            )
        else:
            check = InputCheck(label, InputStatus.OK)
        self._inputs[loc.home] = check
        return check, loc

    # ---- one item ----------------------------------------------------------------------
    def reproduce(self, item_path: Path) -> Report:
        """Reproduce one item; never raises for a problem with the item (it goes in the report)."""
        report = Report(item=str(item_path), code_running=self.running_code)
        try:
            self._reproduce(Path(item_path), report)
        except SporbarError as err:
            report.problems.append(str(err))
            if report.verdict == Verdict.NOT_REPRODUCIBLE and report.command:
                report.verdict = Verdict.FAILED
        return report

    def _reproduce(self, item_path: Path, report: Report) -> None:
        root = find_root(Path(item_path))
        loc = locate(item_path, root)
        outside = outside_hrefs(loc.path, loc.data, root)
        if outside:
            report.item_id = loc.data.get("id", "")
            report.problems += outside
            return
        props = loc.data.get("properties", {})
        report.item_id = loc.data.get("id", "")
        report.code_recorded = props.get(ext.SPORBAR_CODE_VERSION, "")
        if report.code_recorded and report.code_recorded != self.running_code:
            report.warnings.append(
                f"code version differs: recorded {report.code_recorded}, running {self.running_code}"
            )
        step = RecordedStep.from_properties(loc.path, props)
        report.command = step.command
        report.call = describe_call(step)

        # inputs: derived_from links of the item as given, resolved relative to it
        input_homes: list[Path] = []
        for link in loc.data.get("links", []):
            if link.get("rel") != ext.DERIVED_FROM:
                continue
            check, inp = self.check_input(resolve_href(link["href"], loc.path.parent), root)
            report.inputs.append(check)
            if inp is not None:
                input_homes.append(inp.home)
        bad = {i.status for i in report.inputs} - {InputStatus.OK}
        if InputStatus.OUTSIDE in bad:
            report.problems += [i.detail for i in report.inputs if i.status == InputStatus.OUTSIDE]
            return
        if bad:
            report.verdict = Verdict.MISSING_INPUT if InputStatus.MISSING in bad else Verdict.INPUT_CHANGED
            return

        cfg_path = self.config or run_config(root, props.get(ext.SPORBAR_CONFIG_HASH))
        recorded_cfg = load(cfg_path)
        config_ok = self._check_config(cfg_path, recorded_cfg, props.get(ext.SPORBAR_CONFIG_HASH), report)
        tmp = Path(tempfile.mkdtemp(prefix="sporbar-reproduce-", dir=self.workdir))
        try:
            target_root = tmp / root.name
            target_root.mkdir()
            for home in input_homes:
                mirror(home.parent, target_root / home.parent.relative_to(root))
            cfg_data = dict(recorded_cfg.data)
            cfg_data["root"] = str(target_root)
            target_cfg = tmp / RUN_CONFIG_FILENAME
            target_cfg.write_text(yaml.safe_dump(cfg_data, sort_keys=True))
            out = target_root / loc.home.relative_to(root)
            request = RerunRequest(step, root, target_root, target_cfg, out, tmp)
            failure = run_in_fresh_process(request, timeout=self.timeout)
            if failure is None:
                self._compare(loc, out, report)
            else:
                report.verdict = Verdict.FAILED
                report.problems.append(failure)
        finally:
            if self.keep:
                report.warnings.append(f"re-run kept in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        if not config_ok:
            report.verdict = Verdict.CONFIG_CHANGED
        elif report.verdict != Verdict.FAILED:
            ok = all(a.status == AssetStatus.IDENTICAL for a in report.assets)
            report.verdict = Verdict.IDENTICAL if ok else Verdict.DIFFERENT

    @staticmethod
    def _check_config(cfg_path: Path, cfg: Config, recorded_hash: str | None, report: Report) -> bool:
        """Compare the hash of ``cfg`` (read from ``cfg_path``) with the recorded one, in the report.

        Returns:
            True when they are the same (or the item records none).
        """
        # the effective config file is the validated config as the run saw it: its hash as
        # written also counts (a newer schema may fill in defaults the run did not know)
        raw = load_yaml(cfg_path.read_text(encoding="utf-8"))
        hashes = {cfg.hash, config_hash(raw) if isinstance(raw, dict) else ""}
        if recorded_hash is None:
            report.config = f"not recorded by the item; re-run with {cfg_path}"
            return True
        if recorded_hash in hashes:
            report.config = f"same as recorded ({cfg_path}, {recorded_hash[:12]})"
            return True
        report.config = f"CHANGED: {cfg_path} hashes to {cfg.hash[:12]}, the item records {recorded_hash[:12]}"
        report.problems.append(
            f"{cfg_path}: config differs from the one the step ran with (sporbar:config_hash "
            f"{recorded_hash[:12]}, now {cfg.hash[:12]}); pass --config with the recorded one"
        )
        return False

    def _compare(self, loc: _Located, out: Path, report: Report) -> None:
        if not out.exists():
            report.verdict = Verdict.FAILED
            report.problems.append(f"{out}: the re-run wrote no item")
            return
        new = json.loads(out.read_text())
        old_assets, new_assets = loc.data.get("assets", {}), new.get("assets", {})
        for key in sorted(set(old_assets) | set(new_assets)):
            if key not in new_assets:
                report.assets.append(AssetResult(key, AssetStatus.MISSING, "not written by the re-run"))
                continue
            if key not in old_assets:
                report.assets.append(AssetResult(key, AssetStatus.EXTRA, "written by the re-run only"))
                continue
            old_href = old_assets[key]["href"]
            old_file = resolve_href(old_href, loc.path.parent)
            new_file = resolve_href(new_assets[key]["href"], out.parent)
            recorded = old_assets[key].get(ext.FILE_CHECKSUM)
            reproduced = new_assets[key].get(ext.FILE_CHECKSUM) or sha256_multihash(new_file)
            same = "equals" if reproduced == recorded else "differs from"
            if not is_local_href(old_href):  # a URL is outside the delivery: named, never opened
                report.assets.append(AssetResult(
                    key, AssetStatus.MISSING, f"delivered href {old_href!r} is a URL, outside the delivery; "
                    f"reproduce does not open it; reproduced checksum {same} the recorded one"))
                continue
            if not old_file.exists():
                report.assets.append(AssetResult(
                    key, AssetStatus.MISSING, f"delivered file is gone; reproduced checksum {same} the recorded one"))
                continue
            on_disk = sha256_multihash(old_file)
            if recorded == reproduced == on_disk:
                report.assets.append(AssetResult(key, AssetStatus.IDENTICAL, reproduced[4:20] + ".."))
                continue
            note = "" if on_disk == recorded else "delivered file does not match its file:checksum; "
            detail = note + describe_difference(old_file, new_file)
            report.assets.append(AssetResult(key, AssetStatus.DIFFERENT, detail))
        # result metadata the item states (counts, metrics): compare too, but only warn
        old_p = {k: v for k, v in loc.data.get("properties", {}).items() if k not in _RUN_PROPERTIES}
        new_p = {k: v for k, v in new.get("properties", {}).items() if k not in _RUN_PROPERTIES}
        diffs = json_differences(old_p, new_p, "properties")
        if diffs:
            report.warnings.append(f"item properties differ: {', '.join(diffs[:6])}")
        old_links = sorted(lk["href"] for lk in loc.data.get("links", []) if lk.get("rel") == ext.DERIVED_FROM)
        new_links = sorted(lk["href"] for lk in new.get("links", []) if lk.get("rel") == ext.DERIVED_FROM)
        if loc.path == loc.home and old_links != new_links:
            report.warnings.append(f"derived_from links differ: {old_links} -> {new_links}")


def catalog_items(catalog: Path) -> list[Path]:
    """Every item reachable from ``catalog`` through child/item links, sorted.

    Raises:
        MissingInputError: the catalog file does not exist.
    """
    catalog = Path(catalog).resolve()
    if not catalog.exists():
        raise MissingInputError(f"{catalog}: catalog not found")
    items: set[Path] = set()
    seen: set[Path] = set()
    todo = [catalog]
    while todo:
        p = todo.pop()
        if p in seen or not p.exists():
            continue
        seen.add(p)
        d = json.loads(p.read_text())
        if d.get("type") == "Feature":
            items.add(p)
            continue
        for link in d.get("links", []):
            if link.get("rel") in ("child", "item"):
                todo.append(resolve_href(link["href"], p.parent))
    return sorted(items)


def reproduce_all(
    catalog: Path, reproducer: Reproducer | None = None, *, on_report: Callable[[Report], None] | None = None
) -> list[Report]:
    """Reproduce every item of a catalog (in lineage order is not needed: inputs are never re-made).

    Args:
        catalog: the root ``catalog.json``.
        reproducer: the reproducer to use (default: one with the default settings).
        on_report: called with each report as soon as it is made.

    Returns:
        One report per item, in :func:`catalog_items` order.
    """
    rep = reproducer or Reproducer()
    out = []
    for item in catalog_items(catalog):
        r = rep.reproduce(item)
        out.append(r)
        if on_report:
            on_report(r)
    return out


__all__ = ["Reproducer", "catalog_items", "find_root", "locate", "outside_hrefs", "reproduce_all"]
