"""A trained GANN with everything needed to use it: weights, settings, provenance.

Model files are written with ``torch.save`` and read with ``torch.load(weights_only=True)``,
so loading a file never executes code from it. A file contains a plain dictionary:
``format`` ("gann-model"), ``format_version``, ``config`` (:class:`ModelConfig`),
``state_dict``, ``threshold``, ``assembly``, ``baselines`` (the classical baselines'
calibration on the training data) and ``metadata`` (training command, data, metrics,
package versions).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gann_core.errors import ModelFileError
from gann_core.model.network import GANN, ModelConfig

FORMAT = "gann-model"
FORMAT_VERSION = 1
SHIPPED_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
#: Shipped models by name; ``Model.load()`` with no argument takes "spd".
SHIPPED_MODELS = {"spd": "spd_default.pt", "trackml": "trackml_default.pt"}


@dataclass
class Model:
    """A trained network plus its decision thresholds, assembly method and provenance.

    ``threshold`` decides single pairs (p > threshold means same event), which the edge
    figures count. ``assembly_threshold`` is the threshold of the event assembly (None
    means ``threshold``). They differ when training tuned the pair threshold for the edge
    figures (``gann train --tune-threshold``) and left the assembly at the configured one.
    """

    network: GANN
    threshold: float = 0.5
    assembly: str = "average"
    baselines: dict | None = None
    metadata: dict = field(default_factory=dict)
    source: str = "in memory"
    assembly_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.assembly_threshold is None:
            self.assembly_threshold = self.threshold

    @property
    def config(self) -> ModelConfig:
        return self.network.config

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @property
    def name(self) -> str:
        return self.metadata.get("name", Path(self.source).stem)

    def to(self, device: str | torch.device) -> "Model":
        self.network.to(device)
        return self

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, device: str | torch.device = "cpu") -> "Model":
        """Load a model file, or a shipped model by name ("spd", "trackml"; None means "spd")."""
        if path is None:
            path = shipped_model_path("spd")
        elif isinstance(path, str) and path in SHIPPED_MODELS:
            path = shipped_model_path(path)
        else:
            path = Path(path)
        if not path.is_file():
            if path.parent == SHIPPED_MODELS_DIR:
                raise ModelFileError(
                    f"shipped model {path.name} is missing from {SHIPPED_MODELS_DIR}; reinstall GANN, "
                    "or pass a model file written by 'gann train'."
                )
            if path.is_dir():
                raise ModelFileError(f"{path} is a folder, not a model file; pass the .pt file written by 'gann train' inside it.")
            raise ModelFileError(
                f"model file {path} not found; pass a file written by 'gann train', a shipped model name "
                f"({', '.join(SHIPPED_MODELS)}), or omit --model to use the shipped default."
            )
        try:
            content = torch.load(path, map_location="cpu", weights_only=True)
        # torch.load reports a damaged or foreign file through many exception types
        # (UnpicklingError, RuntimeError, IndexError, OSError, ...); all mean the same here.
        except Exception as error:  # noqa: BLE001
            text = str(error).strip()
            with open(path, "rb") as handle:
                is_zip = handle.read(4) == b"PK\x03\x04"
            if not is_zip:
                reason = "it is not a file written by torch.save"
            elif "Weights only load failed" in text:
                reason = "it holds Python objects other than weights, which are not loaded for safety"
            else:
                reason = text.splitlines()[0] if text else type(error).__name__
            raise ModelFileError(
                f"{path} is not a readable GANN model file ({reason}); it may be truncated or "
                "written by another program. Retrain with 'gann train' or use the shipped default."
            ) from None
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            raise ModelFileError(
                f"{path} is not a GANN model file (no '{FORMAT}' marker); pass a file written by 'gann train'."
            )
        if content.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{path} has model format version {content.get('format_version')!r}; this GANN reads version "
                f"{FORMAT_VERSION}. Retrain the model with this version of 'gann train'."
            )
        try:
            network = GANN(ModelConfig.from_dict(content["config"]))
            network.load_state_dict(content["state_dict"])
        except (KeyError, RuntimeError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path} contains weights that do not match a GANN network: {error}") from None
        network.eval()
        model = cls(
            network=network,
            threshold=float(content.get("threshold", 0.5)),
            assembly_threshold=float(content.get("assembly_threshold", content.get("threshold", 0.5))),
            assembly=str(content.get("assembly", "average")),
            baselines=content.get("baselines"),
            metadata=dict(content.get("metadata", {})),
            source=str(path),
        )
        return model.to(device)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        content = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "state_dict": {name: tensor.detach().cpu() for name, tensor in self.network.state_dict().items()},
            "threshold": float(self.threshold),
            "assembly_threshold": float(self.assembly_threshold),
            "assembly": self.assembly,
            "baselines": _plain(self.baselines),
            "metadata": _plain(self.metadata),
        }
        save_atomically(content, path)
        return path


def save_atomically(content: dict, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        # mkstemp creates the file readable by its owner only; give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        torch.save(content, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def shipped_model_path(name: str = "spd") -> Path:
    """Path of a model shipped in the package, by name ("spd" or "trackml")."""
    if name not in SHIPPED_MODELS:
        raise ModelFileError(f"no shipped model named {name!r}; shipped models: {', '.join(SHIPPED_MODELS)}.")
    return SHIPPED_MODELS_DIR / SHIPPED_MODELS[name]


def _plain(value):
    """Convert numpy scalars, arrays and tuples to plain Python values, which weights_only loading accepts."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return str(value)  # str subclasses such as torch.__version__ are not plain
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a model file; convert it to plain values first.")
