"""The GANN network, its parts, and saved models."""

from gann_core.model.classifier import PairClassifier
from gann_core.model.encoder import GATEncoder
from gann_core.model.network import GANN, ModelConfig
from gann_core.model.saved import Model, shipped_model_path

__all__ = ["GANN", "GATEncoder", "Model", "ModelConfig", "PairClassifier", "shipped_model_path"]
