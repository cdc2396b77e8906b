"""``keras.Model(inputs=..., outputs=...)``: the Keras face of a ``jaxnet.functional.Functional`` graph.

It is the Keras face's model holder (``_model.Sequential``'s compile/fit/evaluate/predict/save)
around a functional graph, plus what several outputs need: a loss per output or one for all,
``loss_weights``, metrics per output, and Keras' log names (``main_output_loss``,
``aux_output_accuracy``). Targets for several outputs are a list or tuple in the order of the
outputs, or a dict keyed by the names of the output layers.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import numpy as np

from jaxnet import functional, layers, train
from jaxnet.keras import _model


def _per_output(value: Any, names: list[str], what: str) -> list:
    """A compile argument for several outputs as one entry per output: a dict by output name, a list, or one for all.

    Raises:
        ValueError: for a list of the wrong length or a dict naming an unknown output.
    """
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"{what} names {sorted(unknown)}, which are not outputs; the outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"{what} has {len(value)} entries for a model with {len(names)} outputs ({names})")
        return list(value)
    return [value] * len(names)


def _single_output(metrics: Sequence | dict, names: list[str], what: str) -> Sequence:
    """The metrics of a one-output model: a dict by output name gives that output's entry (none if absent)."""
    if not isinstance(metrics, dict):
        return metrics
    entry = _per_output(metrics, names, what)[0]
    return () if entry is None else entry


def _per_example(loss: Callable) -> Callable:
    """A batch-mean loss as one value per example (each example run as a batch of one)."""
    return jax.vmap(lambda p, t: loss(p[None], t[None]))


def _named(fn: Callable, name: str) -> Callable:
    named: Any = functools.partial(fn)  # a partial takes attributes, though typeshed declares no __name__
    named.__name__ = name
    return named


def _output_metrics(metrics: Sequence | dict, names: list[str], what: str) -> list[Callable]:
    """Metrics of a several-output model, each on its output and named ``{output}_{metric}`` as Keras logs them.

    ``metrics`` is one list for every output, a list of lists per output, or a dict by output name.
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    per_output = (
        _per_output(metrics, names, what)
        if isinstance(metrics, dict) or (metrics and all(isinstance(m, (list, tuple)) for m in metrics))
        else [list(metrics)] * len(names)
    )
    fns = []
    for i, (name, output_metrics) in enumerate(zip(names, per_output)):
        for metric in [output_metrics] if isinstance(output_metrics, str) else output_metrics or ():
            fn = _model._logged_as_spelled(metric)
            fns.append(_named(lambda p, t, i=i, fn=fn: fn(p[i], t[i]), f"{name}_{train.metrics_lib.name_of(fn)}"))
    return fns


class Model(_model.Sequential):
    """A Keras functional model: ``keras.Model(inputs=[input_], outputs=[output])``.

    Arguments:
        inputs: the ``keras.Input`` tensor(s): one, a list, or a dict keyed by name.
        outputs: the output tensor(s): one or a list.
        name: the model's name ("functional" when None).
        seed: seed of the PRNG key used to initialise, shuffle and drop out.
    """

    network: functional.Functional

    def __init__(
        self,
        inputs: Any = None,
        outputs: Any = None,
        *,
        name: str | None = None,
        seed: int = 0,
        network: functional.Functional | None = None,
    ):
        super().__init__(seed=seed)
        self.network = network or functional.Functional(inputs, outputs, name=name)
        shapes = [layer.shape for layer in self.network.input_layers]
        self.input_shape = shapes[0] if len(shapes) == 1 else tuple(shapes)
        self._compile_args: dict = {}

    @property
    def name(self) -> str:
        """The model's name (Keras' default "functional")."""
        return self.network.name or "functional"

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that produce the outputs, as Keras names the per-output logs."""
        return [self.network.names[self.network.nodes[ref.node][0]] for ref in self.network.outputs]

    @property
    def _multi_output(self) -> bool:
        return not self.network.single_output

    def add(self, layer) -> None:
        raise TypeError("a functional Model cannot add layers: call the layer on a tensor and build a new Model")

    def summary(self, input_shape: tuple | None = None) -> None:
        """Print the summary table with Keras' "Connected to" column; returns None, as Keras."""
        del input_shape
        print(self.network.summary())

    def compile(  # type: ignore[override]  # Keras' Model adds loss_weights, before weighted_metrics
        self,
        optimizer="rmsprop",
        loss="mse",
        metrics: Sequence | dict = (),
        learning_rate=None,
        loss_weights: Sequence | dict | None = None,
        weighted_metrics: Sequence | dict = (),
    ) -> None:
        """As Keras' compile; for several outputs ``loss``, ``loss_weights`` and ``metrics`` may be given per output.

        Arguments:
            optimizer: a name or an Optax transformation.
            loss: one loss for every output, or a list (in output order) or dict (by output name) of losses.
            metrics: metrics for every output, a list of lists per output, or a dict by output name.
            learning_rate: for an optimizer given by name.
            loss_weights: the weight of each output's loss in the total (a list or a dict); 1 each by default.
            weighted_metrics: metrics that ``fit``'s / ``evaluate``'s sample weights weigh, given as ``metrics``.
        """
        self._compile_args = {
            "loss": loss,
            "metrics": metrics,
            "loss_weights": loss_weights,
            "weighted_metrics": weighted_metrics,
        }
        if not self._multi_output:
            if loss_weights is not None:
                weight = _per_output(loss_weights, self.output_names, "loss_weights")[0]
                base = train.training_loss(loss)
                loss = _named(
                    lambda p, t, sample_weight=None: weight * base(p, t, sample_weight=sample_weight),
                    getattr(base, "__name__", "loss"),
                )
            # a dict by output name (as for several outputs) names the one output
            one_metrics = _single_output(metrics, self.output_names, "metrics")
            one_weighted = _single_output(weighted_metrics, self.output_names, "weighted_metrics")
            return super().compile(optimizer, loss, one_metrics, learning_rate, one_weighted)
        names = self.output_names
        losses = [train.training_loss(fn) for fn in _per_output(loss, names, "loss")]
        weights = [
            1.0 if w is None else float(w)
            for w in _per_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights")
        ]

        def total(y_pred, y_true, sample_weight=None):
            return sum(
                w * fn(p, t, sample_weight=sample_weight) for w, fn, p, t in zip(weights, losses, y_pred, y_true)
            )

        logs = [
            _named(lambda p, t, i=i: _per_example(losses[i])(p[i], t[i]), f"{name}_loss")
            for i, name in enumerate(names)
        ]
        super().compile(
            optimizer,
            _named(total, "loss"),
            logs + _output_metrics(metrics, names, "metrics"),
            learning_rate,
            _output_metrics(weighted_metrics, names, "weighted_metrics"),
        )

    def _compile_config(self) -> dict | None:
        """The arguments ``compile`` was given (its wrapped losses and metrics cannot be saved as JSON)."""
        return None if self._compiled is None else {**self._compiled, **self._compile_args}

    def _targets(self, y: Any) -> Any:
        """Targets for several outputs as a tuple in output order (from a list, tuple or dict by output name)."""
        if not self._multi_output:
            return y
        names = self.output_names
        if isinstance(y, dict):
            missing = [n for n in names if n not in y]
            if missing:
                raise ValueError(f"the targets lack {missing}; give one array per output: {names}")
            return tuple(y[n] for n in names)
        if not isinstance(y, (tuple, list)) or len(y) != len(names):
            raise ValueError(
                f"this model has {len(names)} outputs ({', '.join(names)}): give y as a list of "
                f"{len(names)} arrays or a dict keyed by those names"
            )
        return tuple(y)

    def fit(self, x, y, *, validation_data=None, **kwargs) -> train.History:
        """As ``Sequential.fit``; ``x`` and ``y`` may hold one array per input and per output."""
        if validation_data is not None:
            validation_data = (validation_data[0], self._targets(validation_data[1]))
        return super().fit(x, self._targets(y), validation_data=validation_data, **kwargs)

    def evaluate(self, x, y, *, return_dict: bool = False, **kwargs):
        """As ``Sequential.evaluate``; for several outputs the list is Keras': the total loss, each output's
        loss in output order, then the per-output metrics sorted by name."""
        result = super().evaluate(x, self._targets(y), return_dict=True, **kwargs)
        if return_dict or not self._multi_output:
            return result if return_dict else super()._as_keras_result(result)
        first = ["loss", *(f"{name}_loss" for name in self.output_names)]
        return [result[k] for k in first] + [result[k] for k in sorted(set(result) - set(first))]

    def predict(self, x, **kwargs):
        """The outputs: one NumPy array, or a list of them for several outputs (as Keras)."""
        outputs = train.predict(self.network, self._built("predict"), x, batch_size=kwargs.get("batch_size", 32))
        if self._multi_output:
            return [np.asarray(o) for o in outputs]
        return np.asarray(outputs)


def concatenate(inputs: Sequence, axis: int = -1, **kwargs):
    """``keras.layers.concatenate([a, b])``: a ``Concatenate`` layer called on the tensors.

    Arguments:
        inputs: the tensors to join (at least two).
        axis: the axis of each example to join along.
        kwargs: more ``Concatenate`` arguments (``name=``).

    Returns:
        The joined tensor.
    """
    return layers.Concatenate(axis=axis, **kwargs)(list(inputs))


__all__ = ["Model", "concatenate"]
