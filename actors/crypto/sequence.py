"""The TensorFlow/Keras sequence model (LSTM or causal temporal CNN) and its artifact.

Input: the last ``window`` rows of standardised features (:mod:`actors.crypto.features`)
ending at candle ``t``. Outputs: the ``horizon``-candle log return (regression head ``ret``,
trained on the standardised target) and the probability that it is positive (head ``dir``).

Artifact: a directory with ``model.keras`` and ``metadata.json`` (format, symbol, interval,
horizon, model and feature configuration, scaler parameters, training data range, metrics,
code version). :meth:`SequenceForecaster.load` restores it bit-for-bit.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from actors.crypto.errors import ArtifactError, CryptoError, InsufficientDataError
from actors.crypto.features import FeatureConfig, build_features, future_return
from actors.crypto.symbols import (
    format_interval,
    normalize_symbol,
    parse_interval,
    validate_horizon,
)

ARTIFACT_FORMAT = "armillary.crypto.sequence/1"
MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class SequenceConfig:
    """Hyperparameters of the sequence model (what Ray Tune searches over)."""

    architecture: Literal["lstm", "tcn"] = "lstm"
    window: int = 32
    units: int = 16
    layers: int = 1
    dropout: float = 0.0
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 5
    direction_weight: float = 0.5
    validation_fraction: float = 0.1  # last share of training windows for early stopping
    patience: int = 2
    seed: int = 0
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceConfig:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def configure_tensorflow(threads: int = 1) -> Any:
    """Import TensorFlow with ``threads`` intra/inter-op threads (a no-op once TF has started)
    and return the ``keras`` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process
        pass
    return tf.keras


@dataclass
class _Scaler:
    columns: list[str]
    mean: list[float]
    std: list[float]
    target_mean: float
    target_std: float

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.columns].to_numpy(dtype=np.float64)
        return ((values - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)


@dataclass
class SequenceForecaster:
    """Sequence model of one symbol, interval and horizon; follows the ``Forecaster``
    interface of :mod:`actors.crypto.baselines`. ``fit`` may be called again to train more
    epochs (the scaler stays the one of the first call)."""

    horizon: int
    config: SequenceConfig = field(default_factory=SequenceConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    symbol: str = "BTC/USDT"
    interval: str = "1h"
    name: str = "lstm"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.horizon = validate_horizon(self.horizon)
        self.symbol = normalize_symbol(self.symbol, supported=None)
        self.interval = format_interval(parse_interval(self.interval))
        if self.config.window < 2:
            raise CryptoError("window must be at least 2 candles")
        self.name = self.config.architecture
        self._model: Any = None
        self._serving_fn: Any = None
        self._scaler: _Scaler | None = None
        self.history: list[dict[str, float]] = []
        self.data_range: tuple[pd.Timestamp, pd.Timestamp] | None = None

    # ----------------------------------------------------------------- data
    @property
    def required_history(self) -> int:
        """Candles needed before the newest one for a forecast."""
        return self.features.warmup + self.config.window

    def _windows(
        self, candles: pd.DataFrame, sentiment: pd.DataFrame | None, since: pd.Timestamp | None
    ) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """Index and ``(n, window, n_features)`` windows of every candle ``>= since`` whose
        whole window has valid features."""
        assert self._scaler is not None
        frame = build_features(candles, self.features, sentiment=sentiment, interval=self.interval)
        scaled = self._scaler.transform(frame)
        w = self.config.window
        valid_row = np.isfinite(scaled).all(axis=1)
        first = 0 if since is None else int(frame.index.searchsorted(pd.Timestamp(since)))
        ends = np.arange(max(first, w - 1), len(frame))
        if len(ends) == 0:
            return frame.index[:0], np.zeros((0, w, scaled.shape[1]), dtype=np.float32)
        valid_cum = np.concatenate([[0], np.cumsum(~valid_row)])
        ok = (valid_cum[ends + 1] - valid_cum[ends + 1 - w]) == 0
        ends = ends[ok]
        view = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(scaled), w, axis=0)
        windows = np.ascontiguousarray(view[ends - w + 1].transpose(0, 2, 1))
        return frame.index[ends], windows

    def _fit_scaler(self, candles: pd.DataFrame, sentiment: pd.DataFrame | None) -> None:
        frame = build_features(candles, self.features, sentiment=sentiment, interval=self.interval)
        target = future_return(candles, self.horizon)
        rows = frame.notna().all(axis=1) & target.notna()
        if rows.sum() < max(50, self.config.window):
            raise InsufficientDataError(
                f"{int(rows.sum())} complete training rows; the sequence model needs "
                f"at least {max(50, self.config.window)}"
            )
        std = frame.loc[rows].std().replace(0.0, 1.0).fillna(1.0)
        self._scaler = _Scaler(
            columns=list(frame.columns),
            mean=[float(v) for v in frame.loc[rows].mean()],
            std=[float(v) for v in std],
            target_mean=float(target.loc[rows].mean()),
            target_std=float(target.loc[rows].std()) or 1.0,
        )

    # ---------------------------------------------------------------- model
    def _build(self, n_features: int) -> Any:
        keras = configure_tensorflow(self.config.threads)
        keras.utils.set_random_seed(self.config.seed)
        c = self.config
        inputs = keras.Input(shape=(c.window, n_features), name="window")
        x = inputs
        if c.architecture == "lstm":
            for i in range(c.layers):
                x = keras.layers.LSTM(c.units, return_sequences=i < c.layers - 1)(x)
        elif c.architecture == "tcn":
            for i in range(c.layers + 1):
                x = keras.layers.Conv1D(
                    c.units, 3, padding="causal", dilation_rate=2**i, activation="relu"
                )(x)
            x = keras.layers.Cropping1D((c.window - 1, 0))(x)  # the last time step
            x = keras.layers.Flatten()(x)
        else:
            raise CryptoError(f"unknown architecture {c.architecture!r}; use lstm or tcn")
        if c.dropout > 0:
            x = keras.layers.Dropout(c.dropout, seed=c.seed)(x)
        outputs = {
            "ret": keras.layers.Dense(1, name="ret")(x),
            "dir": keras.layers.Dense(1, activation="sigmoid", name="dir")(x),
        }
        model = keras.Model(inputs, outputs, name=f"crypto_{c.architecture}")
        model.compile(
            optimizer=keras.optimizers.Adam(c.learning_rate),
            loss={"ret": keras.losses.Huber(), "dir": keras.losses.BinaryCrossentropy()},
            loss_weights={"ret": 1.0, "dir": c.direction_weight},
        )
        return model

    def fit(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        *,
        epochs: int | None = None,
    ) -> SequenceForecaster:
        """Train ``epochs`` (default ``config.epochs``) more epochs on ``candles`` (targets
        inside ``candles`` only). Early stopping watches the last ``validation_fraction``."""
        if self._scaler is None:
            self._fit_scaler(candles, sentiment)
        assert self._scaler is not None
        index, x = self._windows(candles, sentiment, None)
        target = future_return(candles, self.horizon).reindex(index).to_numpy()
        keep = np.isfinite(target)
        x, target, index = x[keep], target[keep], index[keep]
        if len(x) < 20:
            raise InsufficientDataError(f"only {len(x)} training windows; need at least 20")
        if self._model is None:
            self._model = self._build(x.shape[2])
            self._serving_fn = None
        keras = configure_tensorflow(self.config.threads)
        keras.utils.set_random_seed(self.config.seed + len(self.history))
        y = {
            "ret": ((target - self._scaler.target_mean) / self._scaler.target_std).astype(
                np.float32
            ),
            "dir": (target > 0).astype(np.float32),
        }
        n_val = int(len(x) * self.config.validation_fraction)
        kwargs: dict[str, Any] = {}
        if n_val >= 10:
            # chronological split: the validation windows are the most recent ones
            kwargs["validation_data"] = (x[-n_val:], {k: v[-n_val:] for k, v in y.items()})
            x, y = x[:-n_val], {k: v[:-n_val] for k, v in y.items()}
            kwargs["callbacks"] = [
                keras.callbacks.EarlyStopping(
                    patience=self.config.patience, restore_best_weights=True
                )
            ]
        fitted = self._model.fit(
            x,
            y,
            epochs=epochs or self.config.epochs,
            batch_size=self.config.batch_size,
            shuffle=True,
            verbose=0,
            **kwargs,
        )
        logs = fitted.history
        self.history.extend(
            {k: float(v[i]) for k, v in logs.items()} for i in range(len(logs["loss"]))
        )
        self.data_range = (candles.index[0], candles.index[-1])
        return self

    # -------------------------------------------------------------- predict
    def predict_windows(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw model call on prepared windows: ``(returns, prob_up)``."""
        if self._model is None or self._scaler is None:
            raise CryptoError("the sequence model is not trained or loaded")
        if len(windows) == 0:
            return np.zeros(0), np.zeros(0)
        out = self._compiled()(np.asarray(windows, dtype=np.float32))
        ret = np.asarray(out["ret"], dtype=np.float64).reshape(-1)
        prob = np.asarray(out["dir"], dtype=np.float64).reshape(-1)
        return ret * self._scaler.target_std + self._scaler.target_mean, prob

    def _compiled(self) -> Any:
        """The model's forward pass as one traced graph for any batch size (the batch dimension
        is left open in the signature, so it is traced once): ~1 ms per call on this machine
        where the eager call of the LSTM takes ~20-40 ms, and it releases the GIL while it
        runs. It reads the model's variables, so later training is reflected."""
        if self._serving_fn is None:
            import tensorflow as tf

            model = self._model
            shape = [None, self.config.window, len(self._scaler.columns) if self._scaler else None]
            self._serving_fn = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec(shape, tf.float32)],
                reduce_retracing=True,
            )
        return self._serving_fn

    def predict_frame(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Forecast return and ``prob_up`` for every candle ``>= since`` (NaN without history)."""
        if self._scaler is None:
            raise CryptoError("the sequence model is not trained or loaded")
        index, windows = self._windows(candles, sentiment, since)
        ret, prob = [], []
        for start in range(0, len(windows), 4096):
            r, p = self.predict_windows(windows[start : start + 4096])
            ret.append(r)
            prob.append(p)
        full = candles.index if since is None else candles.index[candles.index >= since]
        out = pd.DataFrame(
            {
                "return": np.concatenate(ret) if ret else np.zeros(0),
                "prob_up": np.concatenate(prob) if prob else np.zeros(0),
            },
            index=index,
        )
        return out.reindex(full)

    def predict(
        self,
        candles: pd.DataFrame,
        sentiment: pd.DataFrame | None = None,
        since: pd.Timestamp | None = None,
    ) -> pd.Series:
        return self.predict_frame(candles, sentiment, since)["return"].rename(self.name)

    def latest_window(
        self, candles: pd.DataFrame, sentiment: pd.DataFrame | None = None
    ) -> np.ndarray:
        """The ``(1, window, n_features)`` input for a forecast at the newest candle."""
        if self._scaler is None:
            raise CryptoError("the sequence model is not trained or loaded")
        if len(candles) < self.required_history:
            raise InsufficientDataError(
                f"{len(candles)} candles given; a forecast needs at least {self.required_history}"
            )
        index, windows = self._windows(candles, sentiment, candles.index[-1])
        if len(index) == 0:
            raise InsufficientDataError("the newest candles do not give a complete feature window")
        return windows

    # ------------------------------------------------------------- artifact
    def save(
        self,
        directory: str | Path,
        *,
        metrics: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Write the artifact directory (created if needed) and return its path."""
        if self._model is None or self._scaler is None:
            raise CryptoError("nothing to save: the sequence model is not trained")
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self._model.save(path / MODEL_FILE)
        meta = {
            **self.metadata,
            "format": ARTIFACT_FORMAT,
            "symbol": self.symbol,
            "interval": self.interval,
            "horizon": self.horizon,
            "model": self.config.to_dict(),
            "features": self.features.to_dict(),
            "scaler": asdict(self._scaler),
            "data_range": ([t.isoformat() for t in self.data_range] if self.data_range else None),
            "history": self.history,
            "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        if metrics is not None:
            meta["metrics"] = metrics
        if extra:
            meta.update(extra)
        (path / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
        self.metadata = meta
        return path

    @classmethod
    def load(cls, directory: str | Path) -> SequenceForecaster:
        """Restore a saved artifact. Raises ``ArtifactError`` when it is incomplete."""
        path = Path(directory)
        meta_path, model_path = path / METADATA_FILE, path / MODEL_FILE
        if not meta_path.is_file() or not model_path.is_file():
            raise ArtifactError(
                f"{path} is not a sequence-model artifact (need {MODEL_FILE}, {METADATA_FILE})"
            )
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != ARTIFACT_FORMAT:
                raise ArtifactError(f"unsupported artifact format {meta.get('format')!r}")
            model = cls(
                horizon=int(meta["horizon"]),
                config=SequenceConfig.from_dict(meta["model"]),
                features=FeatureConfig.from_dict(meta["features"]),
                symbol=meta["symbol"],
                interval=meta["interval"],
                metadata=meta,
            )
            model._scaler = _Scaler(**meta["scaler"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ArtifactError):
                raise
            raise ArtifactError(f"unreadable artifact metadata in {meta_path}: {exc}") from exc
        keras = configure_tensorflow(model.config.threads)
        model._model = keras.models.load_model(model_path)
        model.history = list(meta.get("history", []))
        if meta.get("data_range"):
            start, end = meta["data_range"]
            model.data_range = (pd.Timestamp(start), pd.Timestamp(end))
        return model
