"""Stages check the files they read against their input items (issue 12.7): an ARD composite,
a lidar product or a label file changed after the step that made it is refused, naming the
item, the asset and the file, instead of being used by samples and predict."""

from __future__ import annotations

from pathlib import Path

import pytest
from _ml_fixtures import make_area

from sporbar.errors import InputDataError
from sporbar.stac.record import RunContext, asset_path, read_item
from sporbar.training.run import run_samples


@pytest.fixture
def area(tmp_path: Path):
    return make_area(tmp_path)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes: only the checksum can tell
    path.write_bytes(bytes(data))


def _samples(area, series: Path) -> dict:
    return run_samples(area.cfg, labels_item=area.labels, ard_items=list(area.ard.values()),
                       lidar_items=list(area.lidar.values()), series_dir=series,
                       ctx=RunContext.current(config_hash="t"))


@pytest.mark.parametrize("which", ["ard", "lidar", "labels"])
def test_samples_refuses_an_input_file_changed_after_its_step(area, tmp_path: Path, which: str) -> None:
    item_path, key = {
        "ard": (next(iter(area.ard.values())), f"composite-{area.cfg.data['ard']['periods'][0]['id']}"),
        "lidar": (next(iter(area.lidar.values())), "dtm"),
        "labels": (area.labels, "labels"),
    }[which]
    target = asset_path(Path(item_path), read_item(Path(item_path)), key)
    _flip_last_byte(target)
    with pytest.raises(InputDataError, match="has checksum 1220") as err:
        _samples(area, tmp_path / "out")
    assert str(err.value).startswith(f"{target}: asset {key!r} of item ")
    assert str(item_path) in str(err.value) and "re-run that step" in str(err.value)
    assert not (tmp_path / "out").exists()  # no version folder written
