"""Answering prediction requests ``(symbol, horizon)``, in batches: each request is parsed,
each distinct model and symbol history is resolved once, and the predictor is asked once for
all of them. Requests that fail get their own error; the others are answered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from actors.crypto.errors import CryptoError
from deployments.crypto.config import ServingConfig
from deployments.crypto.errors import CryptoServiceError
from deployments.crypto.history import CandleHistories, History
from deployments.crypto.models import LoadedModel, ModelHolder
from deployments.crypto.predictor import Predictor
from deployments.crypto.responses import respond
from deployments.crypto.stats import ServingStats

Request = tuple[str, Any]
Result = dict[str, Any] | BaseException
Parsed = tuple[str, int, str]  # canonical symbol, horizon, model name


class Forecasts:
    def __init__(self, models: ModelHolder, histories: CandleHistories, predictor: Predictor,
                 config: Callable[[], ServingConfig], stats: ServingStats) -> None:
        self.models = models
        self.histories = histories
        self.predictor = predictor
        self.config = config
        self.stats = stats

    def remembered(self, symbol: str, name: str) -> dict[str, Any] | None:
        """The answer from this replica's memo, without any store or registry call, when
        caching is on and neither the model nor the history is due for a check."""
        config = self.config()
        if not config.cache_predictions:
            return None
        loaded, hist = self.models.fresh(name), self.histories.fresh(symbol)
        if loaded is None or hist is None or hist.last is None:
            return None
        self.models.check_age(loaded)
        hit = self.predictor.remembered(self.predictor.key(loaded, hist.last))
        if hit is None:
            return None
        self.stats.memo_hits += 1
        return respond(hit, loaded, hist, config, cached=True, for_ingress=True)

    async def answer(self, requests: Sequence[Request]) -> list[Result]:
        """Answer a batch: per request a response dict or the exception to raise."""
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(requests))
        results: list[Result | None] = [None] * len(requests)
        parsed = self._parse(requests, results)
        models = await self._models({p[2] for p in parsed.values()})
        histories = await self._histories({p[0] for p in parsed.values()}, models)
        wanted: dict[int, tuple[LoadedModel, History]] = {}
        for i, (symbol, _, name) in parsed.items():
            loaded, hist = models[name], histories.get(symbol)
            if isinstance(loaded, BaseException):
                results[i] = loaded
            elif isinstance(hist, BaseException) or hist is None:
                results[i] = hist
            else:
                wanted[i] = (loaded, hist)
        if wanted:
            await self._predict(wanted, results)
        return [r if r is not None else RuntimeError("unanswered") for r in results]

    def _parse(self, requests: Sequence[Request], results: list[Result | None]
               ) -> dict[int, Parsed]:
        config = self.config()
        parsed: dict[int, Parsed] = {}
        for i, (symbol, horizon) in enumerate(requests):
            try:
                parsed[i] = config.request(symbol, horizon)
            except CryptoError as exc:
                results[i] = exc
        return parsed

    async def _models(self, names: set[str]) -> dict[str, LoadedModel | BaseException]:
        models: dict[str, LoadedModel | BaseException] = {}
        for name in names:
            try:
                model = await self.models.get(name)
                self.models.check_age(model)
                models[name] = model
            except (CryptoError, CryptoServiceError) as exc:
                models[name] = exc
        return models

    async def _histories(self, symbols: set[str], models: dict[str, LoadedModel | BaseException]
                         ) -> dict[str, History | BaseException]:
        """The history of each symbol, as long as its models need; none for a symbol whose
        every model failed (its requests get that error)."""
        histories: dict[str, History | BaseException] = {}
        for symbol in symbols:
            needs = [m.predictor.required_history for m in models.values()
                     if isinstance(m, LoadedModel) and m.predictor.symbol == symbol]
            if not needs:
                continue
            try:
                histories[symbol] = await self.histories.get(symbol, max(needs))
            except CryptoServiceError as exc:
                histories[symbol] = exc
        return histories

    async def _predict(self, wanted: dict[int, tuple[LoadedModel, History]],
                       results: list[Result | None]) -> None:
        jobs = [(loaded, hist.frame) for loaded, hist in wanted.values()]
        answers = await self.predictor.predict(jobs)
        config = self.config()
        for (i, (loaded, hist)), answer in zip(wanted.items(), answers, strict=True):
            if isinstance(answer, BaseException):
                results[i] = answer
            else:
                pred, cached = answer
                results[i] = respond(pred, loaded, hist, config, cached=cached,
                                     for_ingress=True)
