"""``keras.models``: the model classes and ``load_model``."""

from jaxnet.keras._model import Sequential, load_model
from jaxnet.keras.functional import Model

__all__ = ["Model", "Sequential", "load_model"]
