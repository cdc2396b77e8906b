"""The book's own world: *Deep Learning from Scratch*'s code, in its own conventions.

NumPy arrays, ``"W1"``/``"b1"`` parameter keys and the ``(y, t)`` argument order, as the
book writes them: ``backprop`` (forward/backward layer pairs, TwoLayerNet), ``numerical``
(central differences), ``perceptron`` (logic gates and the learning rule), ``forward`` (the
3-layer network of chapter 3), ``filters`` (classic kernels, the similarity map) and
``tour`` (every seed example, printed). The library proper (``jaxnet``) does not depend on it.
"""
