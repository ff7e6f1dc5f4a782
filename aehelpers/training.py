"""Training with compact output: one short line per epoch, then a loss-curve figure.
Introduced in notebook 01."""

from __future__ import annotations

import time

import keras


class EpochLine(keras.callbacks.Callback):
    """Print one compact line per epoch (``epoch 3/10 · loss 0.0123 · val_loss 0.0130 · 1.9 s``)
    instead of Keras' progress bars; with many epochs only about ``max_lines`` lines are
    printed (the first, the last and evenly spaced ones between). Introduced in notebook 01."""

    def __init__(self, label: str = "", max_lines: int = 10):
        super().__init__()
        self.label = label
        self.max_lines = max(1, int(max_lines))

    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs") or 1
        self._every = max(1, -(-self._epochs // self.max_lines))

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self._epochs
        if epoch % self._every and not last:
            return
        parts = [f"{self.label + ' · ' if self.label else ''}epoch {epoch + 1:>{len(str(self._epochs))}}/{self._epochs}"]
        parts += [f"{k} {v:.5g}" for k, v in (logs or {}).items() if k != "learning_rate"]
        parts.append(f"{time.perf_counter() - self._t0:.1f} s")
        print(" · ".join(parts), flush=True)


def fit(model, x, y=None, *, epochs: int, batch_size: int = 256, validation_data=None, label: str = "",
        plot: bool = True, title: str | None = None, callbacks=(), max_lines: int = 10, **kwargs):
    """Train ``model`` with ``model.fit`` (no progress bars), print one line per epoch and,
    if ``plot``, draw the loss curve. ``y`` defaults to ``x`` (an autoencoder reconstructs
    its input). Extra keyword arguments go to ``model.fit``.

    Returns the Keras ``History``. Introduced in notebook 01.
    """
    from aehelpers.plotting import plot_history

    if not getattr(model, "compiled", False) and getattr(model, "optimizer", None) is None:
        raise ValueError(f"model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=...) first")
    history = model.fit(
        x, x if y is None else y,
        epochs=epochs, batch_size=batch_size, validation_data=validation_data,
        verbose=0, callbacks=[EpochLine(label, max_lines), *callbacks], **kwargs,
    )
    if plot:
        import matplotlib.pyplot as plt

        plot_history(history, title=title or f"Training curve: {label or model.name}")
        plt.show()
    return history
