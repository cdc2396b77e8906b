"""``keras.initializers``: Keras' initializer classes as factories of jaxnet initializers ``init(key, shape, dtype)``.

``keras.initializers.RandomNormal(stddev=0.01)`` or ``HeNormal()`` can be passed as a layer's
``kernel_initializer``; the lower-case names (``"he_normal"``) work as strings too. ``seed``, as in
Keras, makes an initializer draw from that seed instead of the key the layer passes.
"""

from jaxnet import initializers as _init
from jaxnet.initializers import (
    constant,
    get,
    identity,
    ones,
    orthogonal,
    random_normal,
    random_uniform,
    truncated_normal,
    variance_scaling,
    zeros,
)


def _family(scale: float, mode: str, distribution: str, name: str):
    def make(seed: int | None = None):
        return variance_scaling(scale, mode, distribution, seed)

    make.__name__ = name
    make.__doc__ = f"Keras' {name}: variance_scaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return make


GlorotUniform = _family(1.0, "fan_avg", "uniform", "GlorotUniform")
GlorotNormal = _family(1.0, "fan_avg", "truncated_normal", "GlorotNormal")
HeNormal = _family(2.0, "fan_in", "truncated_normal", "HeNormal")
HeUniform = _family(2.0, "fan_in", "uniform", "HeUniform")
LecunNormal = _family(1.0, "fan_in", "truncated_normal", "LecunNormal")
LecunUniform = _family(1.0, "fan_in", "uniform", "LecunUniform")
VarianceScaling = variance_scaling
RandomNormal = random_normal
RandomUniform = random_uniform
TruncatedNormal = truncated_normal
Orthogonal = orthogonal
Constant = constant
Identity = identity


def Zeros():  # noqa: N802 (Keras' class name)
    """Keras' Zeros()."""
    return zeros


def Ones():  # noqa: N802 (Keras' class name)
    """Keras' Ones()."""
    return ones


glorot_uniform, glorot_normal = _init.glorot_uniform, _init.glorot_normal
he_normal, he_uniform = _init.he_normal, _init.he_uniform
lecun_normal, lecun_uniform = _init.lecun_normal, _init.lecun_uniform

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "constant",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]
