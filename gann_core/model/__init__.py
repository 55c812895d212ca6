"""The GANN network, its parts, and saved models.

The names are imported on first use, so reading :class:`ModelConfig` (the command line
does, to build its options) does not import torch.
"""

from gann_core._lazy import lazy_attributes

# Public name -> module that defines it.
_LAZY = {
    "GANN": "gann_core.model.network",
    "GATEncoder": "gann_core.model.encoder",
    "Model": "gann_core.model.saved",
    "ModelConfig": "gann_core.model.config",
    "PairClassifier": "gann_core.model.classifier",
    "shipped_model_path": "gann_core.model.saved",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = ["GANN", "GATEncoder", "Model", "ModelConfig", "PairClassifier", "shipped_model_path"]
