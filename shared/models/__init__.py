"""Network architectures (PyTorch). Importing this package does not import torch until a model is built."""

from shared.models._registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
