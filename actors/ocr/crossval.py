"""Choosing AUTO's defaults fairly: every step and threshold is replayed arithmetically over
variants recognised once per page (text scored against the reference beforehand), and
chosen by cross-validation, leave one page out and leave one collection out.

A configuration (:class:`Knob` values) picks one variant per page the way
:func:`actors.ocr.pipeline.recognize_variants` and :func:`actors.ocr.pipeline.choose` do:
the page as given wins outright when it is confident (``confident_score``) and not skewed;
else the straightened page (skewed pages), the page as given, then one variant per enabled
cleanup step (narrow pages read with the narrow psm when it is on; on a layout page,
``layout_paragraphs``, none) and the OSD rotation, compared with
:func:`actors.ocr.pipeline.pick`.

For one knob, :func:`ablation` gives the in-sample CER of each value on all pages, and the
cross-validated CER of the procedure that chose it: on each fold the value with the lowest
training CER (ties go to the first value listed, the knob's "off"), scored on the held-out
pages. A step helps out of sample when that cross-validated CER is below the CER of "off".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actors.ocr.options import OcrOptions
from actors.ocr.pipeline import CLEANUPS, is_layout_page, pick


@dataclass(frozen=True)
class Knob:
    """A default under test: its candidate values, the neutral one ("off") first."""

    name: str
    values: tuple[Any, ...]


@dataclass
class PageVariants:
    """What one page's variants read: name -> (score, char count, edit errors)."""

    page_id: str
    collection: str
    ref_len: int
    variants: dict[str, tuple[float, int, int]]
    skewed: bool = False
    narrow: bool = False
    stock_errors: int = 0
    paragraphs: int = 1  # found by the first pass (the page as given) ...
    sized: bool = True  # ... which read enough text to measure its size


Config = dict[str, Any]

# The knobs AUTO's defaults are chosen from; the first value of each is its neutral "off".
KNOBS: tuple[Knob, ...] = (
    *(Knob(step, (False, True)) for step in CLEANUPS),
    Knob("rotation", (False, True)),
    Knob("narrow_psm", (False, True)),
    Knob("layout_paragraphs", (0, 3, 6, 12, 24)),
    Knob("min_char_share", (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)),
    Knob("min_gain", (0.0, 1.0, 2.0, 5.0)),
    Knob("confident_score", (101.0, 95.0, 92.0, 88.0, 85.0, 80.0)),
)


def candidates(page: PageVariants, config: Config) -> list[str]:
    """The variants AUTO would compare on ``page`` under ``config``, in its order."""
    first = page.variants["original"]
    if first[0] >= config["confident_score"] and not page.skewed:
        return ["original"]
    suffix = "" if config["narrow_psm"] or not page.narrow else "@psm3"
    names = ([f"deskew{suffix}"] if page.skewed else []) + ["original"]
    if not is_layout_page(paragraphs=page.paragraphs, sized=page.sized, narrow=page.narrow,
                          skewed=page.skewed, need=config["layout_paragraphs"]):
        names += [f"{step}{suffix}" for step in CLEANUPS if config[step]]
    if config["rotation"]:
        names.append("rotate")
    return [n for n in names if n in page.variants]


def chosen(page: PageVariants, config: Config) -> str:
    names = candidates(page, config)
    index = pick([page.variants[n][:2] for n in names], min_gain=config["min_gain"],
                 min_char_share=config["min_char_share"])
    return names[index]


def errors(pages: Sequence[PageVariants], config: Config) -> np.ndarray:
    """Edit errors per page of the variant ``config`` picks."""
    return np.array([p.variants[chosen(p, config)][2] for p in pages], dtype=float)


@dataclass
class Scores:
    """CER of one way of reading every page: per-page mean and pooled over characters."""

    per_page: float
    pooled: float

    @classmethod
    def of(cls, errs: np.ndarray, ref_lens: np.ndarray) -> Scores:
        return cls(float(np.mean(errs / ref_lens)), float(errs.sum() / ref_lens.sum()))


def folds(pages: Sequence[PageVariants], scheme: str) -> list[np.ndarray]:
    """Held-out index sets: ``page`` (leave one page out) or ``collection``."""
    if scheme == "page":
        return [np.array([i]) for i in range(len(pages))]
    if scheme == "collection":
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(pages):
            groups.setdefault(p.collection, []).append(i)
        return [np.array(ix) for ix in groups.values()]
    raise ValueError(f"unknown scheme {scheme!r}")


Objective = Callable[[np.ndarray, np.ndarray], float]


def per_page_cer(errs: np.ndarray, ref_lens: np.ndarray) -> float:
    return float(np.mean(errs / ref_lens)) if len(errs) else 0.0


@dataclass
class _Evaluator:
    pages: Sequence[PageVariants]
    memo: dict[tuple[tuple[str, Any], ...], np.ndarray] = field(default_factory=dict)

    def __call__(self, config: Config) -> np.ndarray:
        key = tuple(sorted(config.items()))
        if key not in self.memo:
            self.memo[key] = errors(self.pages, config)
        return self.memo[key]


def select(evaluate: Callable[[Config], np.ndarray], ref_lens: np.ndarray, train: np.ndarray,
           knob: Knob, config: Config, objective: Objective = per_page_cer) -> Any:
    """The value of ``knob`` with the lowest ``objective`` on the ``train`` pages, the
    others as in ``config``; ties go to the earlier value (the neutral one first)."""
    best, best_value = None, np.inf
    for value in knob.values:
        errs = evaluate({**config, knob.name: value})
        value_cost = objective(errs[train], ref_lens[train])
        if value_cost < best_value - 1e-12:
            best, best_value = value, value_cost
    return best


def cross_validated(pages: Sequence[PageVariants], choose_config: Callable[[np.ndarray], Config],
                    scheme: str, evaluate: Callable[[Config], np.ndarray] | None = None
                    ) -> tuple[np.ndarray, list[Config]]:
    """Held-out errors per page of the configuration ``choose_config`` picks on the other
    pages of each fold (and those configurations)."""
    evaluate = evaluate or _Evaluator(pages)
    out = np.zeros(len(pages))
    picked = []
    everything = np.arange(len(pages))
    for test in folds(pages, scheme):
        train = np.setdiff1d(everything, test)
        config = choose_config(train)
        picked.append(config)
        out[test] = evaluate(config)[test]
    return out, picked


@dataclass
class KnobReport:
    """One knob: in-sample CER per value, and the cross-validated choice per scheme."""

    knob: str
    default: Any
    in_sample: dict[Any, Scores]
    cross_validated: dict[str, Scores]  # scheme -> held-out CER of the chosen value
    picks: dict[str, dict[Any, int]]  # scheme -> value -> folds that picked it
    chosen_all: Any  # the value chosen on all pages

    @property
    def off(self) -> Any:
        return next(iter(self.in_sample))

    def helps(self, scheme: str) -> bool:
        """Whether choosing this knob beats leaving it off on the held-out pages (both
        means must not get worse, one must improve)."""
        cv, off = self.cross_validated[scheme], self.in_sample[self.off]
        return (cv.per_page <= off.per_page + 1e-12 and cv.pooled <= off.pooled + 1e-12
                and (cv.per_page < off.per_page - 1e-12 or cv.pooled < off.pooled - 1e-12))


    def hurts(self, scheme: str) -> bool:
        """Whether the cross-validated choice is worse than "off" on either mean."""
        cv, off = self.cross_validated[scheme], self.in_sample[self.off]
        return cv.per_page > off.per_page + 1e-12 or cv.pooled > off.pooled + 1e-12

    def keep(self) -> Any:
        """The default to keep: the value chosen on all pages when choosing it helps with one
        page held out, else "off". (With one collection held out, a step that only some
        collections need, as receipts need CLAHE and the narrow psm, cannot be voted for by
        the others: that column is reported, not required.)"""
        return self.chosen_all if self.helps("page") else self.off


def ablation(pages: Sequence[PageVariants], knob: Knob, config: Config,
             schemes: Sequence[str] = ("page", "collection"),
             objective: Objective = per_page_cer,
             evaluate: Callable[[Config], np.ndarray] | None = None) -> KnobReport:
    """In-sample and cross-validated ablation of ``knob``, the other knobs as in ``config``."""
    evaluate = evaluate or _Evaluator(pages)
    ref = np.array([p.ref_len for p in pages], dtype=float)
    in_sample = {v: Scores.of(evaluate({**config, knob.name: v}), ref) for v in knob.values}
    cv: dict[str, Scores] = {}
    picks: dict[str, dict[Any, int]] = {}
    for scheme in schemes:
        errs, configs = cross_validated(
            pages, lambda train: {**config, knob.name: select(
                evaluate, ref, train, knob, config, objective)}, scheme, evaluate)
        cv[scheme] = Scores.of(errs, ref)
        counts: dict[Any, int] = {}
        for c in configs:
            counts[c[knob.name]] = counts.get(c[knob.name], 0) + 1
        picks[scheme] = counts
    everything = np.arange(len(pages))
    return KnobReport(knob.name, config[knob.name], in_sample, cv, picks,
                      select(evaluate, ref, everything, knob, config, objective))


def kept_defaults(pages: Sequence[PageVariants], start: Config,
                  knobs: Sequence[Knob] = KNOBS, fixed: Sequence[str] = (),
                  evaluate: Callable[[Config], np.ndarray] | None = None) -> Config:
    """The defaults the rule of :meth:`KnobReport.keep` sets on ``pages``: each knob judged
    with the others as in ``start``; the knobs in ``fixed`` keep their ``start`` value."""
    evaluate = evaluate or _Evaluator(pages)
    config = dict(start)
    for knob in knobs:
        if knob.name not in fixed:
            config[knob.name] = ablation(pages, knob, start, evaluate=evaluate).keep()
    return config


def subset(evaluate: Callable[[Config], np.ndarray], index: np.ndarray
           ) -> Callable[[Config], np.ndarray]:
    """``evaluate`` restricted to the pages ``index`` (for nested cross-validation)."""
    return lambda config: evaluate(config)[index]


def tune(evaluate: Callable[[Config], np.ndarray], ref_lens: np.ndarray, train: np.ndarray,
         knobs: Sequence[Knob], start: Config, sweeps: int = 2,
         objective: Objective = per_page_cer) -> Config:
    """All ``knobs`` chosen on ``train`` one at a time (coordinate descent from ``start``)."""
    config = dict(start)
    for _ in range(sweeps):
        before = dict(config)
        for knob in knobs:
            config[knob.name] = select(evaluate, ref_lens, train, knob, config, objective)
        if config == before:
            break
    return config


def neutral(knobs: Sequence[Knob] = KNOBS) -> Config:
    """Every knob off: AUTO reads the page as given (and the straightened page when skewed),
    never skipping the variants for confidence."""
    return {k.name: k.values[0] for k in knobs}


def config_of(options: OcrOptions) -> Config:
    """The knob values of ``options`` and the pipeline's thresholds (the code's defaults)."""
    from actors.ocr import pipeline

    pre = options.preprocess
    return {**{step: bool(getattr(pre, step)) for step in CLEANUPS},
            "rotation": pre.orientation, "narrow_psm": bool(pre.narrow_psm),
            "layout_paragraphs": pre.layout_paragraphs,
            "min_char_share": pipeline.MIN_CHAR_SHARE, "min_gain": pipeline.MIN_GAIN,
            "confident_score": pre.confident_score}
