"""TempCNN (Pelletier et al. 2019): a 1-D convolutional network over each pixel's time series.

Input per pixel: the time-series features ``ts_<step>_<band>`` (z-scored; a step with no
clear observation is masked: its values are zero and a validity channel says 0, so the
network learns to ignore it instead of reading an imputed value) and the static features
(the lidar features, z-scored) joined after the convolutions. Training is seeded, with early
stopping on a seeded hold-out of the training rows, the best epoch's weights kept; on the CPU
it is bit-reproducible (deterministic algorithms), on CUDA it runs under bf16 autocast with a
larger default batch.

Only this module, :mod:`sporbar.ml.mlp` and the torch branches of :mod:`sporbar.ml.io` import torch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from sporbar.bands import SeriesLayout, series_layout
from sporbar.ml.mlp import torch_state, train_device
from sporbar.ml.normalise import Normaliser

CONV_LAYERS = 3
KERNEL = 5
DROPOUT = 0.2
WEIGHT_DECAY = 1e-4
#: ``models[].learning_rate`` default (Adam)
LEARNING_RATE = 1e-3
#: ``models[].patience`` default: epochs without a better hold-out loss before training stops
PATIENCE = 5
#: share of the training rows held out (seeded) to decide early stopping
HOLDOUT = 0.1
#: default rows per step: small batches on CPU cores, large ones keep a GPU busy
BATCH_CPU = 256
BATCH_CUDA = 8192
#: CPU batches smaller than this train in one thread: torch's intra-op threads cost more than they
#: give on a small network (demo samples, 2 busy cores: 6 s in one thread, 207 s in two)
THREADED_BATCH = 4096
#: rows predicted at once (bounds the memory of the convolutions' activations)
PREDICT_ROWS = 16384


class TempCNN(nn.Module):
    """Three temporal convolutions (batch norm, ReLU, dropout), flattened, joined with the static features.

    Args:
        n_steps: time steps per pixel.
        n_bands: bands per step (the network sees one more channel: the validity mask).
        n_static: static features per pixel (lidar).
        n_classes: output classes.
        filters: convolution filters per layer.
        hidden: units of the dense layer.
        epochs_trained: epochs run (early stopping may end before ``models[].epochs``); recorded only.
    """

    def __init__(
        self,
        n_steps: int,
        n_bands: int,
        n_static: int,
        n_classes: int,
        *,
        filters: int,
        hidden: int,
        epochs_trained: int = 0,
    ):
        """Build the layers, their weights initialised from torch's global RNG (seed it first)."""
        super().__init__()
        self.n_steps, self.n_bands, self.n_static, self.n_classes = n_steps, n_bands, n_static, n_classes
        self.filters, self.hidden, self.epochs_trained = filters, hidden, epochs_trained
        layers: list[nn.Module] = []
        for i in range(CONV_LAYERS):
            layers += [
                nn.Conv1d(n_bands + 1 if i == 0 else filters, filters, KERNEL, padding=KERNEL // 2),
                nn.BatchNorm1d(filters),
                nn.ReLU(),
                nn.Dropout(DROPOUT),
            ]
        self.conv = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(filters * n_steps + n_static, hidden),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, series: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of series (batch, n_bands + 1, n_steps) and static (batch, n_static)."""
        return self.head(torch.cat([self.conv(series).flatten(1), static], dim=1))  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        """The constructor arguments, enough to rebuild the module before loading weights."""
        return {
            "n_steps": self.n_steps,
            "n_bands": self.n_bands,
            "n_static": self.n_static,
            "n_classes": self.n_classes,
            "filters": self.filters,
            "hidden": self.hidden,
            "epochs_trained": self.epochs_trained,
            "conv_layers": CONV_LAYERS,
            "kernel": KERNEL,
        }

    def total_parameters(self) -> int:
        """Number of weights and biases."""
        return int(sum(p.numel() for p in self.parameters()))


def encode(layout: SeriesLayout, normaliser: Normaliser, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of raw feature rows: (series (rows, bands + 1, steps), static (rows, n_static)).

    A step is valid where all its bands are finite; invalid steps get zeros and mask 0.
    """
    z = normaliser.apply(x)
    n, t, b = z.shape[0], len(layout.steps), len(layout.bands)
    ts = z[:, list(layout.series)].reshape(n, t, b)
    valid = np.isfinite(ts).all(axis=2)
    ts = np.where(valid[..., None], ts, np.float32(0))
    series = np.concatenate([ts, valid[..., None].astype(np.float32)], axis=2).transpose(0, 2, 1)
    static = np.nan_to_num(z[:, list(layout.static)], nan=0.0)  # never NaN where a map is made
    return np.ascontiguousarray(series, dtype=np.float32), np.ascontiguousarray(static, dtype=np.float32)


def predict_proba(net: TempCNN, names: list[str], normaliser: Normaliser, x: np.ndarray) -> np.ndarray:
    """Softmax class probabilities (rows, classes), float64, of raw feature rows (columns ``names``).

    In chunks of :data:`PREDICT_ROWS` rows: the convolutions' activations grow with rows x steps x filters.
    """
    layout = series_layout(names)
    out = np.empty((x.shape[0], net.n_classes), dtype=np.float64)
    with torch.no_grad():
        for r0 in range(0, x.shape[0], PREDICT_ROWS):
            series, static = encode(layout, normaliser, x[r0 : r0 + PREDICT_ROWS])
            logits = net(torch.from_numpy(series), torch.from_numpy(static))
            out[r0 : r0 + PREDICT_ROWS] = torch.softmax(logits.float(), dim=1).numpy()
    return out


def batch_size(spec: dict[str, Any], device: torch.device) -> int:
    """``models[].batch_size``, or the device's default (:data:`BATCH_CPU`, :data:`BATCH_CUDA`)."""
    if spec.get("batch_size"):
        return int(spec["batch_size"])
    return BATCH_CUDA if device.type == "cuda" else BATCH_CPU


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA (tensor cores); nothing on the CPU, which stays bit-reproducible."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batches(order: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    """Consecutive slices of ``order``; a last one of a single row is skipped (batch norm needs 2)."""
    for start in range(0, order.numel(), size):
        batch = order[start : start + size]
        if batch.numel() > 1:
            yield batch


def fit_tempcnn(
    spec: dict[str, Any],
    x: np.ndarray,
    y_index: np.ndarray,
    class_weights: np.ndarray,
    *,
    names: list[str],
    normaliser: Normaliser,
    n_classes: int,
    seed: int,
    threads: int,
) -> tuple[TempCNN, str]:
    """Train the TempCNN of ``spec`` on rows ``x`` (columns ``names``) with class indices ``y_index``.

    ``spec``: ``epochs`` (at most), ``learning_rate``, ``batch_size`` (default by device),
    ``patience`` (early stopping; 0 = off), ``filters``, ``hidden``, ``device``.

    Returns:
        (the network on the CPU in eval mode, the device type it was trained on).

    Raises:
        ConfigError: ``spec['device']`` is cuda and there is no CUDA device.
    """
    device = train_device(str(spec.get("device", "cpu")), str(spec.get("id", "")))
    layout = series_layout(names)
    series_np, static_np = encode(layout, normaliser, x)
    size = batch_size(spec, device)
    patience = int(spec.get("patience", PATIENCE))
    with torch_state(threads if size >= THREADED_BATCH else 1):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on any device
        net = TempCNN(
            len(layout.steps),
            len(layout.bands),
            len(layout.static),
            n_classes,
            filters=int(spec.get("filters", 64)),
            hidden=int(spec.get("hidden", 128)),
        ).to(device)
        series = torch.from_numpy(series_np).to(device)
        static = torch.from_numpy(static_np).to(device)
        yt = torch.from_numpy(y_index).to(device)
        weight = torch.from_numpy(class_weights.astype(np.float32)).to(device)
        loss_fn = nn.CrossEntropyLoss(weight=weight)
        sum_loss = nn.CrossEntropyLoss(weight=weight, reduction="sum")
        opt = torch.optim.Adam(
            net.parameters(), lr=float(spec.get("learning_rate", LEARNING_RATE)), weight_decay=WEIGHT_DECAY
        )
        rows = torch.randperm(series.shape[0], generator=gen)
        n_hold = int(rows.numel() * HOLDOUT) if patience > 0 and rows.numel() >= 20 else 0
        hold, train = rows[:n_hold], rows[n_hold:]
        best, best_state, stale, epochs = math.inf, None, 0, 0
        for _ in range(int(spec.get("epochs", 60))):
            epochs += 1
            net.train()
            for batch in _batches(train[torch.randperm(train.numel(), generator=gen)], size):
                b = batch.to(device)
                opt.zero_grad()
                with _autocast(device):
                    loss = loss_fn(net(series[b], static[b]), yt[b])
                loss.backward()
                opt.step()
            if not n_hold:
                continue
            net.eval()
            held = 0.0
            with torch.no_grad(), _autocast(device):
                for start in range(0, n_hold, size):
                    b = hold[start : start + size].to(device)
                    held += float(sum_loss(net(series[b], static[b]), yt[b]))
            if held < best:
                best, stale = held, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.epochs_trained = epochs
        net.eval()
    return net.to("cpu"), device.type
