"""Training with compact output: one short line per epoch, then a loss-curve figure.
Introduced in notebook 01."""

import time

import keras
import numpy as np

from aehelpers._validation import check_positive_int

class _EpochLine(keras.callbacks.Callback):
    """Print one line per epoch (``epoch 3/10 · loss 0.0123 · val_loss 0.013 · 1.9 s``), at most about
    ``max_lines`` (first, last, evenly spaced); ``rename`` maps log keys to names (None: hidden); ``of``
    is the run's epoch count when one run is split over several fits."""

    def __init__(self, label: str = "", max_lines: int = 10, rename: dict | None = None, of: int | None = None):
        super().__init__()
        self.label, self.of = label, of
        self.max_lines = max(1, int(max_lines))
        self.rename = {"learning_rate": None, **(rename or {})}

    def on_train_begin(self, logs=None):
        self._epochs = self.of or self.params.get("epochs") or 1
        self._every = max(1, -(-self._epochs // self.max_lines))

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self._epochs
        if epoch % self._every and not last:
            return
        parts = [f"{self.label + ' · ' if self.label else ''}epoch {epoch + 1:>{len(str(self._epochs))}}/{self._epochs}"]
        parts += [f"{self.rename.get(k, k)} {v:.5g}" for k, v in (logs or {}).items() if self.rename.get(k, k)]
        parts.append(f"{time.perf_counter() - self._t0:.1f} s")
        print(" · ".join(parts), flush=True)

def fit(model, x, y=None, *, epochs: int, batch_size: int = 256, validation_data=None, label: str = "",
        plot: bool = True, title: str | None = None, callbacks=(), max_lines: int = 10, of: int | None = None,
        cache: bool = True, retrain: bool = False, **kwargs):
    """Train ``model`` with ``model.fit`` (``y`` defaults to ``x``; extra keywords go to it), print one
    line per epoch and, if ``plot``, draw the loss curve; return the Keras ``History``. With ``cache``
    (outside CI and pytest) a re-run with the same model, weights, data and arguments loads the trained
    weights instead (``retrain=True`` trains again). ``of`` numbers the epoch lines when one run is split
    over several calls. Introduced in notebook 01."""
    if not getattr(model, "compiled", False) and getattr(model, "optimizer", None) is None:
        raise ValueError(f"model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=...) first")
    y = x if y is None else y

    def train():
        return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                         verbose=0, callbacks=[_EpochLine(label, max_lines, of=of), *callbacks], **kwargs)

    settings = dict(epochs=epochs, batch_size=batch_size, callbacks=list(callbacks), **kwargs)
    history = _train(model, train, cache, [x, None if y is x else y, validation_data], settings, label or model.name,
                     retrain)
    _plot(history, plot, title or f"Training curve: {label or model.name}")
    return history

def _train(model, train, cache: bool, data, settings: dict, label: str, retrain: bool):
    from aehelpers._cache import cached_fit

    return cached_fit(model, train, data=data, settings=settings, label=label, retrain=retrain) if cache else train()

def _plot(curves, plot: bool, title: str) -> None:
    if plot:
        import matplotlib.pyplot as plt

        from aehelpers.plotting import plot_history

        plot_history(curves, title=title)
        plt.show()

def fit_side_by_side(models: dict, x, y=None, *, optimizer, epochs: int, batch_size: int = 256,
                     loss: str = "mse", from_logits: bool = False, steps_per_execution: int = 50,
                     jit_compile="auto", plot: bool = True, title: str | None = None, max_lines: int = 10,
                     label: str = "", cache: bool = True, retrain: bool = False, **kwargs) -> dict:
    """Train several independent models (``{name: uncompiled model}``, same input) on the same batches in
    ONE ``fit`` and return ``{name: {"loss": [...]}}``. With ``loss="mse"`` each outputs the target's
    shape (``y``, default ``x``); with ``"sparse_categorical_crossentropy"`` class probabilities (or
    scores with ``from_logits=True``) for integer ids ``y``. The wrapper's loss is the sum of theirs;
    sharing no weights, each model gets exactly its own gradient, so this equals training them one after
    another, but pays Keras' graph building (~2 s per ``fit`` on a CPU) once. Extra keywords go to
    ``fit``; ``cache``/``retrain`` as in :func:`fit` (one entry for the whole fit). Introduced in notebook 01."""
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict {name: keras.Model}")
    if loss not in ("mse", "sparse_categorical_crossentropy"):
        raise ValueError(f"loss must be 'mse' or 'sparse_categorical_crossentropy'; got {loss!r}")
    x = np.asarray(x)
    target = x if y is None else np.asarray(y)
    if len(target) != len(x):
        raise ValueError(f"x and y must have the same number of examples; got {len(x)} and {len(target)}")
    classify = loss == "sparse_categorical_crossentropy"
    if from_logits and not classify:
        raise ValueError("from_logits=True needs loss='sparse_categorical_crossentropy' (class scores)")
    if classify and (target.ndim != 1 or not np.issubdtype(target.dtype, np.integer)):
        raise ValueError(f"with loss='sparse_categorical_crossentropy', y must be integer class ids of shape (N,); "
                         f"got shape {target.shape}, dtype {target.dtype}")
    for name, model in models.items():
        out = tuple(model.output_shape[1:])
        if tuple(model.input_shape[1:]) != x.shape[1:] or (len(out) != 1 if classify else out != target.shape[1:]):
            wanted = "(n_classes,)" if classify else str(target.shape[1:])
            raise ValueError(f"model {name!r} maps {model.input_shape[1:]} -> {model.output_shape[1:]}; "
                             f"every model must map {x.shape[1:]} -> {wanted}")
        if classify and (target.min() < 0 or target.max() >= out[0]):
            raise ValueError(f"class ids in y must lie in 0..{out[0] - 1} for model {name!r} ({out[0]} classes); "
                             f"got {target.min()}..{target.max()}")
    inputs = keras.Input(shape=x.shape[1:], name="shared_input")
    stacked = keras.ops.stack([m(inputs) for m in models.values()], axis=1)  # (batch, n_models, ...)
    wrapper = keras.Model(inputs, stacked, name="side_by_side")

    def per_model_loss(y_true, y_pred):  # (batch, n_models)
        if classify:   # -log p(true class) of each model
            true = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), keras.ops.shape(y_pred)[-1])
            true = keras.ops.expand_dims(true, 1)
            if from_logits:
                return -keras.ops.sum(keras.ops.log_softmax(y_pred, axis=-1) * true, axis=-1)
            return -keras.ops.log(keras.ops.clip(keras.ops.sum(y_pred * true, axis=-1), 1e-7, 1.0))
        err = keras.ops.square(y_pred - keras.ops.expand_dims(y_true, 1))
        return keras.ops.mean(keras.ops.reshape(err, (keras.ops.shape(err)[0], len(models), -1)), axis=-1)

    def summed_loss(y_true, y_pred):
        return keras.ops.sum(per_model_loss(y_true, y_pred), axis=-1)

    short = "ce" if classify else "mse"
    metrics, rename = [], {"loss": "sum"}
    for j, name in enumerate(models):
        def metric(y_true, y_pred, j=j):
            return per_model_loss(y_true, y_pred)[:, j]
        metric.__name__ = f"model_{j}_{short}"
        metrics.append(metric)
        rename[metric.__name__] = str(name)
    wrapper.compile(optimizer=optimizer, loss=summed_loss, metrics=metrics, steps_per_execution=steps_per_execution,
                    jit_compile=jit_compile)
    batch_size = check_positive_int(batch_size, "batch_size")

    def train():
        return wrapper.fit(x, target, epochs=epochs, batch_size=batch_size, verbose=0,
                           callbacks=[_EpochLine(label, max_lines, rename)], **kwargs)

    settings = dict(epochs=epochs, batch_size=batch_size, loss=loss, from_logits=from_logits, **kwargs)
    history = _train(wrapper, train, cache, [x, None if y is None else target], settings,
                     label or ", ".join(map(str, models)), retrain)
    curves = {name: {"loss": history.history[f"model_{j}_{short}"]} for j, name in enumerate(models)}
    _plot(curves, plot, title or "Training curves")
    return curves
