"""The torch MLP: the network, the training device, and its seeded, deterministic fit.

Only this module (and the torch branches of :mod:`sporbar.ml.io`) imports torch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from sporbar.errors import ConfigError
from sporbar.ml.normalise import Normaliser

MLP_LAYERS = 2
MLP_DROPOUT = 0.1
BATCH_SIZE = 256  # on the CPU; on CUDA 8192 (the GPU is slower than the CPU at 256), or models[].batch_size
BATCH_SIZE_CUDA = 8192
LEARNING_RATE = 5e-3
WEIGHT_DECAY = 1e-4


class MLP(nn.Module):
    """A per-pixel classifier: features -> 2 hidden ReLU layers with dropout -> class logits.

    Args:
        n_features: input width (number of features).
        n_classes: output width (number of classes).
        hidden: units per hidden layer.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(
        self, n_features: int, n_classes: int, *, hidden: int, dropout: float = MLP_DROPOUT
    ):
        """Build the layers, their weights initialised from torch's global RNG (seed it first)."""
        super().__init__()
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden = hidden
        self.dropout = dropout
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of normalised features (batch, n_features)."""
        return self.net(x)  # type: ignore[no-any-return]

    def architecture(self) -> dict[str, Any]:
        """The constructor arguments, enough to rebuild the module before loading weights."""
        return {
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "hidden": self.hidden,
            "dropout": self.dropout,
            "layers": MLP_LAYERS,
        }

    def total_parameters(self) -> int:
        """Number of weights and biases."""
        return int(sum(p.numel() for p in self.parameters()))


def mlp(spec: dict[str, Any], *, n_features: int, n_classes: int) -> MLP:
    """The MLP of a ``torch_mlp`` config entry (weights initialised from torch's current seed)."""
    return MLP(n_features, n_classes, hidden=int(spec.get("hidden", 64)))


def predict_proba(net: MLP, normaliser: Normaliser, x: np.ndarray) -> np.ndarray:
    """Softmax class probabilities (rows, classes), float64, of raw feature rows."""
    with torch.no_grad():
        logits = net(torch.from_numpy(normaliser.apply(x)))
        return torch.softmax(logits, dim=1).numpy().astype(np.float64)


@contextlib.contextmanager
def torch_state(threads: int) -> Iterator[None]:
    """Deterministic algorithms and a thread count for the block, restored afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.set_num_threads(old_threads)


def train_device(requested: str, model_id: str = "") -> torch.device:
    """The torch device for ``models[].device`` (auto, cpu, cuda).

    Raises:
        ConfigError: cuda requested, and torch sees no CUDA device.
    """
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise ConfigError(
            f"models[{model_id}].device: cuda requested, but torch {torch.__version__} ({build}) sees no "
            "CUDA device in this job; use a GPU partition (e.g. slurm_extra: --gpus=1) or device: auto/cpu"
        )
    # deterministic cuBLAS (torch.use_deterministic_algorithms) needs this before CUDA starts
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return torch.device("cuda")


def fit_mlp(
    spec: dict[str, Any],
    x: np.ndarray,
    y_index: np.ndarray,
    class_weights: np.ndarray,
    *,
    normaliser: Normaliser,
    n_classes: int,
    seed: int,
    threads: int,
) -> tuple[MLP, str]:
    """Train the MLP of ``spec`` on rows ``x`` with class indices ``y_index``.

    Returns:
        (the network on the CPU in eval mode, the device type it was trained on).

    Raises:
        ConfigError: ``spec['device']`` is cuda and there is no CUDA device.
    """
    device = train_device(str(spec.get("device", "cpu")), str(spec.get("id", "")))
    with torch_state(threads):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on any device
        net = mlp(spec, n_features=x.shape[1], n_classes=n_classes).to(device)
        xt = torch.from_numpy(normaliser.apply(x)).to(device)
        yt = torch.from_numpy(y_index).to(device)
        loss_fn = nn.CrossEntropyLoss(weight=torch.from_numpy(class_weights.astype(np.float32)).to(device))
        opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        size = int(spec.get("batch_size") or (BATCH_SIZE_CUDA if device.type == "cuda" else BATCH_SIZE))
        net.train()
        for _ in range(int(spec.get("epochs", 60))):
            order = torch.randperm(xt.shape[0], generator=gen)
            for start in range(0, xt.shape[0], size):
                batch = order[start : start + size].to(device)
                opt.zero_grad()
                loss = loss_fn(net(xt[batch]), yt[batch])
                loss.backward()
                opt.step()
        net.eval()
    return net.to("cpu"), device.type
