"""What the classifier says about one message, and how it reaches it from the models' scores.

Rules applied on top of the scores (why they exist):
- nothing readable (empty, only symbols or control characters) → `needs_review`, confidence 0:
  there is nothing to classify, and guessing would hide that from the officer;
- kind confidence below `review_threshold` → `needs_review` (the threshold is chosen on
  held-out data and recorded in the artefact);
- fewer than half its words known to the model (another language, say) → `needs_review`:
  the scores of a text the model cannot read are confident-looking noise;
- a compliment carries no reasons (LABELS.md); any other kind carries those that clear
  their thresholds and the primary reason, always one of them;
- the primary reason is the primary head's first choice over all the codes (the reasons'
  scores are mixed into that head, see models.py), added to the reasons when no threshold
  chose it: a writer's main reason is often not the one they spell out most plainly, and a
  primary picked only among the thresholded reasons could never be right then;
- fewer than two words (a lone "hi", emoji, a sticker) → `needs_review`: one word is no
  account of anything, however confident the scores look;
- safeguarding has two levels, whatever the confidence of anything else (a low-confidence
  message that mentions harm is still flagged):
  `disclosure` when a phrase rule fires (explicit words of current harm; the rules in
  `CORROBORATED` only when the model's score also clears its recall-tuned threshold; none
  when the model is all but sure the message is ordinary, under its veto) or the score alone
  clears its precision-tuned threshold (right nearly always, out of fold): only this level is
  urgent and gets the crisis reply;
  `possible` for any other rule or a score over the recall-tuned threshold: officers see
  it, the person is not told to call 999 on a guess.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from datetime import date
from typing import Any

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV

from models.enums import Kind, Role
from triage.classifier.eligibility import flag_rules
from triage.classifier.models import TriageModels
from triage.classifier.safeguarding_rules import find_signals
from triage.classifier.safeguarding_rules import level as safeguarding_level
from triage.cleaning import clean

DEFAULT_REVIEW_THRESHOLD = 0.6
MIN_KNOWN_WORDS = 0.5  # share of a text's words in the vocabulary; every corpus text has ≥ 0.66
MIN_WORDS = 2  # fewer words than this is not yet an account of anything


@dataclass(frozen=True)
class Classification:
    kind: Kind
    kind_confidence: float
    reasons: tuple[tuple[str, float], ...]  # ranked (code, score), best first
    primary_reason: str | None
    role: Role
    role_confidence: float
    safeguarding: bool  # at either level
    safeguarding_signals: tuple[str, ...]
    needs_review: bool
    flags: tuple[str, ...]
    safeguarding_level: str | None = None  # "disclosure", "possible" or None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of `heard classify --jsonl`."""
        return {
            "kind": self.kind.value,
            "kind_confidence": self.kind_confidence,
            "reasons": [{"code": code, "score": score} for code, score in self.reasons],
            "primary_reason": self.primary_reason,
            "role": self.role.value,
            "role_confidence": self.role_confidence,
            "safeguarding": self.safeguarding,
            "safeguarding_level": self.safeguarding_level,
            "safeguarding_signals": list(self.safeguarding_signals),
            "needs_review": self.needs_review,
            "flags": list(self.flags),
        }


def _nothing_to_read(text: str) -> bool:
    return not any(ch.isalnum() for ch in text)


_WORD = re.compile(r"[^\W_]+")


def _too_few_words(text: str) -> bool:
    """Fewer than MIN_WORDS words, looking no further than it must (texts can be long)."""
    return next(islice(_WORD.finditer(text), MIN_WORDS - 1, None), None) is None


class _Calibrated:
    """A CalibratedClassifierCV (sigmoid, one estimator) as arrays, so that every head can be
    scored with one sparse product: calling scikit-learn per message costs milliseconds of
    checks. `Classifier` verifies it against scikit-learn when built and falls back if not equal."""

    def __init__(self, model: CalibratedClassifierCV) -> None:
        (calibrated,) = model.calibrated_classifiers_
        estimator = calibrated.estimator
        self.classes = list(model.classes_)
        self.usable = (
            getattr(calibrated, "method", "sigmoid") == "sigmoid"
            and len(self.classes) > 2
            and list(estimator.classes_) == self.classes
            and all(hasattr(c, "a_") for c in calibrated.calibrators)
        )
        self.coef = np.asarray(estimator.coef_, dtype=np.float64)
        self.intercept = np.asarray(estimator.intercept_, dtype=np.float64)
        self.a = np.array([getattr(c, "a_", 0.0) for c in calibrated.calibrators], dtype=np.float64)
        self.b = np.array([getattr(c, "b_", 0.0) for c in calibrated.calibrators], dtype=np.float64)

    def proba(self, decision: np.ndarray) -> np.ndarray:
        p = expit(-(self.a * decision + self.b))
        total = p.sum(axis=1, keepdims=True)
        p = np.divide(p, total, out=np.full_like(p, 1 / p.shape[1]), where=total != 0)
        p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0
        return p


class Classifier:
    """Fitted models plus the rules above. Thread-safe; `classify_many` is the fast path."""

    def __init__(self, models: TriageModels, meta: dict[str, Any], *, today: date | None = None) -> None:
        self.models = models
        self.meta = meta
        self.review_threshold = float(meta.get("review_threshold", DEFAULT_REVIEW_THRESHOLD))
        self.today = today  # fixed in evaluation so that "more than 12 months ago" is reproducible
        self._kind_classes = [Kind(k) for k in models.kind.classes_]
        self._role_classes = [Role(r) for r in models.role.classes_]
        self._lock = threading.Lock()  # the feature cache is shared
        self._kind, self._role = _Calibrated(models.kind), _Calibrated(models.role)
        heads = [self._kind, self._role, models.reasons, models.primary, models.safeguarding, models.flags]
        self._weights = np.ascontiguousarray(np.vstack([h.coef for h in heads]).T, dtype=np.float64)
        self._bias = np.concatenate([h.intercept for h in heads]).astype(np.float64)
        edges = np.cumsum([0] + [len(h.coef) for h in heads])
        self._slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        self._fast = self._kind.usable and self._role.usable and self._agrees_with_sklearn()

    def _agrees_with_sklearn(self) -> bool:
        x = self.models.features.transform(["nobody rang me back about contact", "thank you so much", "my social worker"])
        raw = np.asarray(x @ self._weights) + self._bias
        return bool(
            np.allclose(self._kind.proba(raw[:, self._slices[0]]), self.models.kind.predict_proba(x), atol=1e-9)
            and np.allclose(self._role.proba(raw[:, self._slices[1]]), self.models.role.predict_proba(x), atol=1e-9)
        )

    def classify(self, text: str) -> Classification:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Iterable[str]) -> list[Classification]:
        raw = [t if isinstance(t, str) else "" for t in texts]
        cleaned = [_safe_clean(t) for t in raw]
        return self.classify_cleaned(cleaned)

    def classify_cleaned(self, cleaned: Sequence[str]) -> list[Classification]:
        """Classify texts that have already been through `cleaning.clean`."""
        if not cleaned:
            return []
        m = self.models
        today = self.today or date.today()
        coverage: list[float] = []
        with self._lock:
            x = m.features.transform(cleaned, coverage)
        raw = np.asarray(x @ self._weights) + self._bias  # every head's margins at once
        kinds, roles, reasons, primary, safeguarding, flags = (raw[:, s] for s in self._slices)
        if self._fast:
            kind_p, role_p = self._kind.proba(kinds), self._role.proba(roles)
        else:
            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                kind_p, role_p = m.kind.predict_proba(x), m.role.predict_proba(x)
        # Work on plain lists from here: per-message NumPy calls would cost more than the maths.
        rows = np.arange(len(cleaned))
        k_best, r_best = kind_p.argmax(axis=1), role_p.argmax(axis=1)
        k_conf = np.round(kind_p[rows, k_best], 4).tolist()
        r_conf = np.round(role_p[rows, r_best], 4).tolist()
        reason_p = expit(reasons)
        reason_top = reason_p.argmax(axis=1).tolist()
        reason_chosen = (reason_p >= m.reasons.thresholds).tolist()
        reason_scores = np.round(reason_p, 4).tolist()
        primary_best = primary.argmax(axis=1).tolist() if primary.shape[1] else []
        sg_p = expit(safeguarding[:, 0]).tolist()
        flag_on = (expit(flags) >= m.flags.thresholds).tolist()
        k_best, r_best = k_best.tolist(), r_best.tolist()
        sg_threshold = float(m.safeguarding.thresholds[0])
        labels, primary_labels = m.reasons.labels, m.primary.labels
        label_index = {code: j for j, code in enumerate(labels)}
        results = []
        for i, text in enumerate(cleaned):
            if _nothing_to_read(text):
                results.append(self._empty(text))
                continue
            kind = self._kind_classes[k_best[i]]
            chosen_reasons: list[tuple[str, float]] = []
            primary_reason = None
            if kind is not Kind.compliment:
                picks = [j for j, on in enumerate(reason_chosen[i]) if on]
                if primary_labels:
                    primary_reason = str(primary_labels[primary_best[i]])
                    if (j := label_index[primary_reason]) not in picks:
                        picks.append(j)
                picks = picks or [reason_top[i]]
                chosen_reasons = sorted(((labels[j], reason_scores[i][j]) for j in picks), key=lambda cs: (-cs[1], cs[0]))
                primary_reason = primary_reason or chosen_reasons[0][0]
            signals = find_signals(text, today=today)
            level = safeguarding_level(signals, sg_p[i], sg_threshold, m.disclosure_threshold, m.rule_veto)
            if sg_p[i] >= sg_threshold:
                signals.append(f"model:{sg_p[i]:.2f}")
            ruled = flag_rules(text, today=today, only=m.flag_rules_used) if m.flag_rules_used else set()
            results.append(
                Classification(
                    kind=kind,
                    kind_confidence=k_conf[i],
                    reasons=tuple(chosen_reasons),
                    primary_reason=primary_reason,
                    role=self._role_classes[r_best[i]],
                    role_confidence=r_conf[i],
                    safeguarding=level is not None,
                    safeguarding_level=level,
                    safeguarding_signals=tuple(signals),
                    needs_review=k_conf[i] < self.review_threshold or coverage[i] < MIN_KNOWN_WORDS
                    or _too_few_words(text),
                    flags=tuple(
                        name for j, name in enumerate(m.flags.labels)
                        if flag_on[i][j] or (name in m.flag_rules_used and name in ruled)
                    ),  # fmt: skip
                )
            )
        return results

    def _empty(self, text: str) -> Classification:
        """Nothing readable: no guess, straight to an officer."""
        return Classification(
            kind=Kind.complaint,  # the safe default: a complaint is never left without a response
            kind_confidence=0.0,
            reasons=(),
            primary_reason=None,
            role=Role.other,
            role_confidence=0.0,
            safeguarding=False,
            safeguarding_signals=(),
            needs_review=True,
            flags=(),
        )


def _safe_clean(text: str) -> str:
    try:
        return clean(text)
    except Exception:  # cleaning must never stop classification; fall back to the raw text, cut
        return text[:20_000]
