"""The seeds' models by name, for the command lines and the benchmarks.

Each builder takes the number of outputs and returns a ``Sequential``; the
parameter counts in the comments are for the input shapes the seeds use.
"""

from __future__ import annotations

from typing import Callable

from jaxnet.layers import Concatenate, Conv2D, Dense, Dropout, Flatten, Identity, MaxPooling2D
from jaxnet.model import Branch, Sequential


def mlp(num_classes: int = 10) -> Sequential:
    """The seeds' MNIST MLP: Flatten, Dense(128, relu), Dropout(0.2), Dense(softmax) (101,770 on 28x28)."""
    return Sequential(
        [Flatten(), Dense(128, activation="relu"), Dropout(0.2), Dense(num_classes, activation="softmax")]
    )


def mlp_300_100(num_classes: int = 10) -> Sequential:
    """The Fashion-MNIST MLP of Hands-On ML: 300 and 100 ReLU units (266,610 on 28x28)."""
    return Sequential(
        [
            Flatten(),
            Dense(300, activation="relu"),
            Dense(100, activation="relu"),
            Dense(num_classes, activation="softmax"),
        ]
    )


def two_layer(num_classes: int = 10) -> Sequential:
    """The book's TwoLayerNet as jaxnet layers: 50 ReLU units, weights N(0, 0.01^2) (39,760 on 784 inputs)."""
    return Sequential(
        [
            Flatten(),
            Dense(50, activation="relu", kernel_initializer="book_normal"),
            Dense(num_classes, activation="softmax", kernel_initializer="book_normal"),
        ]
    )


def cnn(num_classes: int = 10, padding: str = "valid") -> Sequential:
    """The seeds' CIFAR-10 CNN: conv32-pool-conv64-pool-conv64-dense64 (122,570 on 32x32x3).

    With ``padding="same"`` it also fits small images such as the 8x8 digits.
    """
    return Sequential(
        [
            Conv2D(32, 3, padding=padding, activation="relu"),
            MaxPooling2D(2),
            Conv2D(64, 3, padding=padding, activation="relu"),
            MaxPooling2D(2),
            Conv2D(64, 3, padding=padding, activation="relu"),
            Flatten(),
            Dense(64, activation="relu"),
            Dense(num_classes, activation="softmax"),
        ]
    )


def small_cnn(num_classes: int = 10) -> Sequential:
    """The seeds' CNN layout with 'same' padding, for 8x8 digits."""
    return cnn(num_classes, padding="same")


def regression_mlp(num_outputs: int = 1) -> Sequential:
    """The Hands-On ML regression MLP: Dense(30, relu) -> Dense(1)."""
    return Sequential([Flatten(), Dense(30, activation="relu"), Dense(num_outputs)])


def wide_and_deep(num_outputs: int = 1) -> Sequential:
    """Wide & Deep (Hands-On ML): the input concatenated with a 30-30 ReLU path, then the output layer."""
    deep = Sequential([Dense(30, activation="relu"), Dense(30, activation="relu")], name="deep")
    return Sequential([Flatten(), Branch([Identity(name="wide"), deep]), Concatenate(), Dense(num_outputs)])


MODELS: dict[str, Callable[[int], Sequential]] = {
    "mlp": mlp,
    "mlp_300_100": mlp_300_100,
    "two_layer": two_layer,
    "cnn": cnn,
    "small_cnn": small_cnn,
    "regression_mlp": regression_mlp,
    "wide_and_deep": wide_and_deep,
}


def get(name: str, num_outputs: int = 10) -> Sequential:
    """Build the model called ``name`` with ``num_outputs`` outputs.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name](num_outputs)
