"""``keras.models``: the model class and ``load_model``."""
from jaxnet.keras._model import Sequential, load_model

__all__ = ["Sequential", "load_model"]
