"""The integer spiking :class:`Model`: a stack of engine layers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numba
import numpy as np

from spikelearn.layers import Layer

#: Fewer samples than this per thread run on fewer threads: waking a worker thread costs more
#: than it saves (a single-sample forward is ~100x slower on two threads on a busy machine).
MIN_SAMPLES_PER_THREAD = 16


@contextmanager
def _threads_for(samples: int) -> Iterator[None]:
    """Limit numba's threads for a batch of ``samples`` (restored on exit)."""
    available = numba.get_num_threads()
    numba.set_num_threads(max(1, min(available, samples // MIN_SAMPLES_PER_THREAD)))
    try:
        yield
    finally:
        numba.set_num_threads(available)


class Model:
    """A sequential integer spiking network.

    Parameters
    ----------
    layers : list of Layer, or str or os.PathLike, optional
        Layers to :meth:`add` in order (the first one an input layer: ``InputData`` or
        ``InputConv2D``), or the path of a ``.slm`` model file to load.

    Examples
    --------
    >>> import numpy as np
    >>> from spikelearn import Model, InputData, FullyConnected
    >>> model = Model([InputData((1, 1, 3), input_bits=1), FullyConnected(2, weight_bits=1)])
    >>> model.get_layer(-1).set_variable("weights", np.array([[1, 0], [1, 1], [0, 1]]))
    >>> model.forward(np.array([[[[1, 1, 0]]]], np.uint8)).ravel().tolist()
    [2, 1]
    """

    def __init__(self, layers: Iterable[Layer] | str | os.PathLike | None = None):
        self._layers: list[Layer] = []
        if isinstance(layers, str | os.PathLike):
            from spikelearn.errors import ModelFileError
            from spikelearn.model_file import load_layers

            path, layers = layers, load_layers(layers)
            try:
                for layer in layers:
                    self.add(layer)
            except ValueError as error:
                raise ModelFileError(f"{os.fspath(path)!r} holds an invalid model: {error}") \
                    from error
            return
        for layer in layers or ():
            self.add(layer)

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, first to last (a new list; the layers themselves are shared)."""
        return list(self._layers)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(h, w, c)`` of the model input."""
        self._require_layers()
        return self._layers[0].input_shape

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(h, w, c)`` of the last layer's output."""
        self._require_layers()
        return self._layers[-1].output_shape

    @property
    def input_bits(self) -> int:
        """Bits of the model input values."""
        self._require_layers()
        return self._layers[0].config["input_bits"]

    def add(self, layer: Layer) -> None:
        """Append ``layer`` and build it on the current output shape.

        A layer without a name is named ``<class>_<index>``.

        Raises
        ------
        TypeError
            If ``layer`` is not an engine layer.
        ValueError
            If an input layer is not first, the first layer is not an input layer, the
            previous layer has no activation (only the last layer may output potentials),
            the name is taken, or the input shape does not fit the layer.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"Model.add expects a spikelearn layer, got {type(layer).__name__}")
        kind = type(layer).__name__
        if not self._layers and not layer.is_input_layer:
            raise ValueError(f"the first layer must be InputData or InputConv2D, got {kind}")
        if self._layers and layer.is_input_layer:
            raise ValueError(f"{kind} is an input layer and must be the first layer; the model "
                             f"already has {len(self._layers)}")
        if self._layers and self._layers[-1].activation_bits is None:
            raise ValueError(f"layer {self._layers[-1].name!r} has no activation (int32 "
                             f"potentials); only the last layer may lack one, cannot add {kind}")
        name = layer.name or f"{_snake(kind)}_{len(self._layers)}"
        if name in (existing.name for existing in self._layers):
            raise ValueError(f"a layer named {name!r} is already in the model")
        if layer.is_input_layer:
            input_shape = tuple(layer.config["input_shape"])
        else:
            input_shape = self._layers[-1].output_shape
        if layer.input_shape is not None and tuple(layer.input_shape) != input_shape:
            raise ValueError(f"layer {name!r} was built for input {layer.input_shape}, the "
                             f"model gives {input_shape}")
        layer.config["name"] = name
        if layer.input_shape is None:
            layer.build(input_shape)
        self._layers.append(layer)

    def pop_layer(self) -> Layer:
        """Remove and return the last layer."""
        self._require_layers()
        return self._layers.pop()

    def get_layer(self, key: str | int) -> Layer:
        """Return a layer by name or by index (negative indices count from the end).

        Raises
        ------
        ValueError
            If no layer has that name or index.
        """
        return self._layers[self._index(key)]

    def _index(self, key: str | int) -> int:
        if isinstance(key, str):
            for index, layer in enumerate(self._layers):
                if layer.name == key:
                    return index
            raise ValueError(f"no layer named {key!r}; layers are "
                             f"{[layer.name for layer in self._layers]}")
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            if -len(self._layers) <= key < len(self._layers):
                return int(key) % len(self._layers)
            raise ValueError(f"layer index {key} out of range for {len(self._layers)} layers")
        raise TypeError(f"a layer is selected by name or index, got {type(key).__name__}")

    def _require_layers(self) -> None:
        if not self._layers:
            raise ValueError("the model has no layers")

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        return f"Model({[layer.name for layer in self._layers]})"

    # -- inference ----------------------------------------------------------------------------
    def check_input(self, x: Any) -> np.ndarray:
        """Validate a model input batch and return it C-contiguous.

        Raises
        ------
        ValueError
            If ``x`` is not uint8, its shape is not ``(n,) + input_shape``, or a value exceeds
            ``2**input_bits - 1``; the message names the expected and the received.
        """
        self._require_layers()
        if not isinstance(x, np.ndarray) or x.dtype != np.uint8:
            got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise ValueError(f"model input must be a uint8 numpy array, got {got}")
        if x.ndim != 4 or x.shape[1:] != tuple(self.input_shape):
            expected = ", ".join(map(str, self.input_shape))
            raise ValueError(f"model input must have shape (n, {expected}), got {x.shape}")
        limit = 2**self.input_bits - 1
        if limit < 255 and x.size and int(x.max()) > limit:
            raise ValueError(f"model input values must be <= {limit} (input_bits="
                             f"{self.input_bits}), got a maximum of {int(x.max())}")
        return np.ascontiguousarray(x)

    def forward(self, x: np.ndarray, *, until: str | int | None = None,
                batch_size: int = 1024) -> np.ndarray:
        """Run the integer engine.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape
        until : str or int, optional
            Stop after this layer (name or index, inclusive) and return its output; e.g.
            ``until=-2`` gives the levels fed to the last layer. Default: the last layer.
        batch_size : int, default 1024
            Samples computed at once (bounds the memory of intermediate outputs). Samples
            of a batch are spread over numba's threads (``numba.set_num_threads``); small
            batches use fewer threads (:data:`MIN_SAMPLES_PER_THREAD`).

        Returns
        -------
        numpy.ndarray, shape (n, h, w, c)
            uint8 activation levels, or int32 potentials if the layer has no activation.
        """
        return self._run(x, until=until, batch_size=batch_size)

    def _run(self, x: np.ndarray, *, until: str | int | None = None, batch_size: int = 1024,
             observe: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
        """Forward pass in batches; ``observe(index, layer_input, layer_output)`` per layer."""
        x = self.check_input(x)
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        stop = len(self._layers) if until is None else self._index(until) + 1
        last = self._layers[stop - 1]
        dtype = np.uint8 if last.activation_bits is not None else np.int32
        out = np.empty((x.shape[0], *last.output_shape), dtype)
        for start in range(0, x.shape[0], batch_size):
            levels = x[start:start + batch_size]
            with _threads_for(len(levels)):
                for index, layer in enumerate(self._layers[:stop]):
                    result = layer.call(levels)
                    if observe is not None:
                        observe(index, levels, result)
                    levels = result
            out[start:start + batch_size] = levels
        return out

    def predict(self, x: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
        """Float outputs: the last layer's potentials times its ``output_scale`` (when it has
        one), else its levels as float.

        Returns
        -------
        numpy.ndarray of float32, shape (n, h, w, c)
        """
        out = self.forward(x, batch_size=batch_size).astype(np.float32)
        scale = self._layers[-1].variables.get("output_scale")
        if scale is not None and self._layers[-1].activation_bits is None:
            out *= scale
        return out

    @property
    def num_classes(self) -> int | None:
        """Classes of the compiled learning layer (None when the model is not compiled)."""
        if not self._layers:
            return None
        learning = self._layers[-1].config.get("learning")
        if learning is None or "num_classes" not in learning:
            return None
        return int(learning["num_classes"])

    def predict_classes(self, x: np.ndarray, num_classes: int | None = None, *,
                        batch_size: int = 1024,
                        abstain_margin: float | None = None) -> np.ndarray:
        """Predicted class of each sample.

        ``num_classes`` defaults to the compiled learning layer's classes (:attr:`num_classes`);
        on a model that is not compiled, the default scores each output neuron as a class.
        With ``num_classes``, class ``k`` owns the contiguous neurons
        ``[k * npc, (k + 1) * npc)``, ``npc = units // num_classes``, and scores the maximum of
        them; the lowest class index wins ties. With ``abstain_margin`` (a number >= 0) the
        answer is ``-1`` when the best score is <= 0 or beats the runner-up by less than the
        margin (see :func:`spikelearn.learning.scores.argmax_or_abstain`).

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
        """
        scores = self.predict(x, batch_size=batch_size).reshape(len(x), -1)
        if num_classes is None:
            num_classes = self.num_classes
        if num_classes is not None:
            units = scores.shape[1]
            if int(num_classes) != num_classes or num_classes < 1 or units % num_classes:
                raise ValueError(f"num_classes must be a positive divisor of the {units} output "
                                 f"neurons, got {num_classes!r}")
            blocks = scores.reshape(len(x), int(num_classes), units // int(num_classes))
            scores = blocks.max(axis=2)
        if abstain_margin is not None:
            from spikelearn.learning.scores import argmax_or_abstain

            return argmax_or_abstain(scores, abstain_margin)
        return scores.argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None, *,
                 batch_size: int = 1024) -> float:
        """Accuracy of :meth:`predict_classes` against integer labels ``y`` of shape (n,)."""
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise ValueError(f"labels must have shape ({len(x)},), got {y.shape}")
        predicted = self.predict_classes(x, num_classes, batch_size=batch_size)
        return float(np.mean(predicted == y)) if len(y) else 0.0

    # -- on-device learning (see spikelearn.learning) -----------------------------------------
    def compile(self, optimizer: Any) -> None:
        """Make the last layer learnable with a :class:`spikelearn.learning.Competitive` rule.

        The last layer must be a ``FullyConnected`` with ``weight_bits=1`` fed by 1-bit spikes,
        with ``units`` a multiple of ``num_classes``. Its weights are overwritten: each neuron
        gets ``num_weights`` connections at seeded random distinct inputs; bias 0. The options
        (and the seed actually used) are stored in the layer config; ``optimizer`` itself is
        not modified.

        Raises
        ------
        TypeError
            If ``optimizer`` is not a ``Competitive``.
        LearningError
            If the layer or an option breaks a rule above, or the model is already compiled.
        """
        from spikelearn.learning.training import compile_model

        compile_model(self, optimizer)

    def fit(self, x: np.ndarray, y: Any) -> Model:
        """Learn samples one after the other with the compiled rule.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape
            Model inputs; the layers before the last one compute the spikes it learns from.
        y : int or array_like of int, shape (n,)
            Class of each sample, in ``[0, num_classes)``; ``-1`` = unlabelled (every neuron
            competes). A scalar applies to all samples. Checked before anything is learned.

        Returns
        -------
        Model
            ``self``. (Use :func:`spikelearn.learning.training.fit_model` for the potentials
            each sample saw before its update.)

        Raises
        ------
        NotCompiledError
            If :meth:`compile` was not called.
        TypeError, ValueError
            Bad inputs or labels; the model is left untouched.
        """
        from spikelearn.learning.training import fit_model

        fit_model(self, x, y)
        return self

    def add_classes(self, num_classes: int) -> None:
        """Append ``num_classes`` classes of fresh neurons to the compiled last layer.

        Each new class gets ``units // num_classes`` neurons with seeded fresh masks, full
        plasticity and zero vigilance; learned neurons stay bit-identical.

        Raises
        ------
        NotCompiledError
            If :meth:`compile` was not called.
        ValueError
            If ``num_classes`` is not an integer >= 1.
        """
        from spikelearn.learning.training import add_classes

        add_classes(self, num_classes)

    # -- reporting and persistence ------------------------------------------------------------
    def summary(self) -> None:
        """Print a table of the layers (see :func:`spikelearn.summary.summary`)."""
        from spikelearn.summary import summary

        summary(self)

    def statistics(self, x: np.ndarray, *, batch_size: int = 1024) -> dict[str, Any]:
        """Per-layer sparsity and synaptic operations (see
        :func:`spikelearn.statistics.model_statistics`)."""
        from spikelearn.statistics import model_statistics

        return model_statistics(self, x, batch_size=batch_size)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to a ``.slm`` file, atomically (see :mod:`spikelearn.model_file`)."""
        from spikelearn.model_file import save_layers

        self._require_layers()
        save_layers(self._layers, path)


def _snake(name: str) -> str:
    """``SeparableConv2D`` -> ``separable_conv2d``."""
    out = ""
    for i, char in enumerate(name):
        if char.isupper() and i and name[i - 1].islower():
            out += "_"
        out += char.lower()
    return out
