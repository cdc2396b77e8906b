"""``keras.optimizers``: Keras' optimizer signatures, each building the equivalent Optax transformation.

``SGD(learning_rate=0.1, momentum=0.9)`` returns an ``optax.GradientTransformation``,
which ``compile(optimizer=...)`` takes as it is. They are functions named as Keras'
classes (there is no state to hold: Optax keeps it in ``opt_state``).

Epsilon placement: Keras' RMSprop divides by ``sqrt(v) + epsilon``, so it is built with
``eps_in_sqrt=False`` (Optax's default puts epsilon inside the root). Keras' Adam folds
the bias corrections into the learning rate, ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``,
and adds epsilon to the uncorrected ``sqrt(v)``; Optax's ``adam`` (``eps_root=0``) adds
it to the corrected ``sqrt(v_hat)``. So Keras' epsilon acts as Optax's
``epsilon / sqrt(1 - beta_2**t)``: the steps agree except where ``sqrt(v_hat)`` is
as small as epsilon (about 1e-7), i.e. approximately.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import optax


class KerasOptimizer(optax.GradientTransformation):
    """An Optax transformation that remembers the Keras call that built it, so a model compiled with it saves.

    ``keras_config`` is ``{"class_name": "SGD", "config": {...}}`` (Keras' own form), or None when an
    argument (a schedule) cannot be written as JSON.
    """

    keras_config: dict | None

    def __new__(cls, tx: optax.GradientTransformation, keras_config: dict | None):
        self = super().__new__(cls, tx.init, tx.update)
        self.keras_config = keras_config
        return self


def _keras_optimizer(optimizer):
    """Wrap a Keras-signature optimizer: record its arguments (``KerasOptimizer``) and take tf.keras 2's ``lr=``.

    The notes write ``SGD(lr=1e-3)``: tf.keras 2, which they were written for, accepted ``lr`` with a
    deprecation warning; Keras 3 rejects it.
    """
    signature = inspect.signature(optimizer)

    @functools.wraps(optimizer)
    def build(*args, lr=None, **kwargs):
        if lr is not None:
            if args or "learning_rate" in kwargs:
                raise TypeError(f"{optimizer.__name__} got both lr= and learning_rate=; give learning_rate= only")
            warnings.warn(
                "the `lr` argument is deprecated, use `learning_rate` instead", DeprecationWarning, stacklevel=2
            )
            kwargs["learning_rate"] = lr
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        config = dict(bound.arguments)
        saveable = all(isinstance(v, (int, float, bool)) for v in config.values())
        return KerasOptimizer(
            optimizer(*args, **kwargs), {"class_name": optimizer.__name__, "config": config} if saveable else None
        )

    return build


def deserialize(keras_config: dict) -> KerasOptimizer:
    """The optimizer a ``KerasOptimizer.keras_config`` describes (as Keras' ``optimizers.deserialize``)."""
    return globals()[keras_config["class_name"]](**keras_config["config"])


@_keras_optimizer
def SGD(learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False) -> optax.GradientTransformation:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Arguments:
        learning_rate: a number or an Optax schedule.
        momentum: the velocity's decay; 0 is plain SGD.
        nesterov: use Nesterov momentum.

    Returns:
        ``optax.sgd`` with these settings.
    """
    return optax.sgd(learning_rate, momentum=momentum or None, nesterov=nesterov)


@_keras_optimizer
def Adagrad(
    learning_rate=0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7
) -> optax.GradientTransformation:
    """Adagrad: per-parameter rates shrinking with the sum of squared gradients.

    Arguments:
        learning_rate: a number or an Optax schedule.
        initial_accumulator_value: the starting sum of squares.
        epsilon: added for numerical stability.

    Returns:
        ``optax.adagrad`` with these settings.
    """
    return optax.adagrad(learning_rate, initial_accumulator_value=initial_accumulator_value, eps=epsilon)


@_keras_optimizer
def RMSprop(
    learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7
) -> optax.GradientTransformation:
    """RMSprop: steps divided by a moving root mean square of the gradients.

    Arguments:
        learning_rate: a number or an Optax schedule.
        rho: the decay of the moving average of squared gradients.
        momentum: momentum on the scaled steps; 0 for none.
        epsilon: added to the root (outside the square root, as Keras).

    Returns:
        ``optax.rmsprop`` with these settings.
    """
    return optax.rmsprop(learning_rate, decay=rho, eps=epsilon, eps_in_sqrt=False, momentum=momentum or None)


@_keras_optimizer
def Adam(
    learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7
) -> optax.GradientTransformation:
    """Adam: bias-corrected moving averages of the gradients and their squares.

    Arguments:
        learning_rate: a number or an Optax schedule.
        beta_1: the decay of the first moment.
        beta_2: the decay of the second moment.
        epsilon: added to the root of the second moment (see the module's note on its placement).

    Returns:
        ``optax.adam`` with these settings (``eps_root=0``).
    """
    return optax.adam(learning_rate, b1=beta_1, b2=beta_2, eps=epsilon, eps_root=0.0)


__all__ = ["SGD", "Adagrad", "Adam", "KerasOptimizer", "RMSprop", "deserialize"]
