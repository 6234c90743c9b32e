"""The fitted models and how they are trained: one set of features, several linear heads.

- kind and role: LinearSVC with sigmoid calibration (CalibratedClassifierCV), so that the
  confidence an officer sees is a probability that means something (checked on held-out data).
- reasons: one linear SVM per code (a message may have several), its margin turned into a
  probability by Platt scaling on out-of-fold margins, each code with its own threshold
  tuned for F1 on those out-of-fold probabilities among thresholds at which the code is
  right at least REASON_MIN_PRECISION of the time (a wrong reason on the queue is a
  correction an officer must make); the primary reason is a separate linear model over all
  the codes, with the reasons' margins mixed into it (`_primary_mix`).
- safeguarding: the same kind of Platt-scaled SVM with two thresholds, both set on
  out-of-fold scores. The `possible` one is recall-tuned: where the model *on its own*
  catches 95% of disclosures, raised only as far as it takes to keep `possible` flags on
  ordinary complaints within POSSIBLE_BUDGET, and never past where the model alone would
  catch fewer than MODEL_RECALL_FLOOR or the rules and the model together would miss a
  disclosure they caught before (the rules were written with the corpus in view, so the
  model's own recall is the guard for wording nobody anticipated). The `disclosure` one is
  precision-tuned, so that a message above it is a disclosure nearly always (it then gets
  the crisis reply). The phrase rules are OR-ed in (see classification.py), but a rule alone
  does not reach `disclosure` when the model scores its message under the veto
  (`veto_threshold`): there it is `possible`.
- flags: Platt-scaled SVMs with tuned thresholds, plus the phrase rules where they help.

Linear heads are kept as plain arrays (coefficients, intercepts, thresholds): fast to apply
to one message and nothing for skops to trust.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from triage.classifier.corpus import FLAGS, REASONS, Example
from triage.classifier.eligibility import flag_rules
from triage.classifier.features import TextFeatures
from triage.classifier.safeguarding_rules import find_signals, level

Progress = Callable[[str], None]

KIND_C = 0.5
ROLE_C = 0.5
REASON_C = 0.3
PRIMARY_C = 0.5
SAFEGUARDING_C = 0.3
FLAG_C = 0.3
SAFEGUARDING_MODEL_RECALL = 0.95  # the model alone catches this share of out-of-fold disclosures
SAFEGUARDING_CAP = 0.35  # and its threshold is never above this
POSSIBLE_BUDGET = 0.08  # share of ordinary complaints (out of fold) that may be flagged `possible`
MODEL_RECALL_FLOOR = 0.93  # the budget never pushes the model's own recall below this
DISCLOSURE_PRECISION = 0.95  # out of fold, messages over the disclosure threshold are disclosures this often
DISCLOSURE_BUDGET = 0.018  # and at most this share of ordinary complaints reach the `disclosure` level
RULE_VETO_LOSS = 0.01  # share of disclosures (out of fold) the model's veto may move from `disclosure` to `possible`
RULE_VETO_CAP = 0.1  # and the veto is never above this score
REASON_MIN_PRECISION = 0.7  # out of fold, a suggested reason is right at least this often (where it can be)
FOLDS = 3  # for out-of-fold scores and calibration; 3 keeps `heard train` well under a minute


@dataclass
class LinearHead:
    """Probabilities for several labels at once: sigmoid(X · coefᵀ + intercept), Platt scaling folded in."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (labels, features) float32
    intercept: np.ndarray  # (labels,)
    thresholds: np.ndarray  # (labels,)

    def scores(self, x: sp.csr_matrix) -> np.ndarray:
        return expit(np.asarray(x @ self.coef.T) + self.intercept)

    def decision(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T) + self.intercept

    def state(self) -> dict[str, object]:
        return {"labels": list(self.labels), "coef": self.coef, "intercept": self.intercept, "thresholds": self.thresholds}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> LinearHead:
        return cls(
            tuple(state["labels"]),  # type: ignore[arg-type]
            np.asarray(state["coef"], dtype=np.float32),
            np.asarray(state["intercept"], dtype=np.float64),
            np.asarray(state["thresholds"], dtype=np.float64),
        )


@dataclass
class TriageModels:
    features: TextFeatures
    kind: CalibratedClassifierCV
    role: CalibratedClassifierCV
    reasons: LinearHead
    primary: LinearHead  # thresholds unused: it only ranks (the reasons' scores folded in, see `_primary_mix`)
    safeguarding: LinearHead  # one label; its threshold is recall-tuned
    flags: LinearHead
    flag_rules_used: tuple[str, ...] = field(default=())  # flags whose phrase rules are OR-ed in
    disclosure_threshold: float = 1.0  # safeguarding score at which the model alone says `disclosure`
    rule_veto: float = 0.0  # safeguarding score under which a rule alone says only `possible`
    primary_mix: tuple[float, float] = (1.0, 0.0)  # weights of the primary margin and the reason logit folded into `primary`


def _binary_head(x: sp.csr_matrix, y: np.ndarray, labels: Sequence[str], c: float, seed: int) -> LinearHead:
    """One linear SVM per column of y (raw decision values until `platt` scales them)."""
    coefs, intercepts = [], []
    for j in range(y.shape[1]):
        if y[:, j].min() == y[:, j].max():  # a label never (or always) seen: a constant score
            coefs.append(np.zeros(x.shape[1]))
            intercepts.append(10.0 if y[0, j] else -10.0)
            continue
        svm = LinearSVC(C=c, class_weight="balanced", random_state=seed).fit(x, y[:, j])
        coefs.append(svm.coef_[0])
        intercepts.append(svm.intercept_[0])
    return LinearHead(tuple(labels), np.array(coefs, dtype=np.float64), np.array(intercepts), np.full(len(labels), 0.5))


def _primary_head(x: sp.csr_matrix, named: np.ndarray, seed: int) -> LinearHead:
    """One multi-class linear SVM over the codes named as primary, rows in REASONS order."""
    svc = LinearSVC(C=PRIMARY_C, class_weight="balanced", random_state=seed).fit(x, named)
    order = [list(svc.classes_).index(r) for r in REASONS if r in svc.classes_]
    return LinearHead(tuple(svc.classes_[order]), svc.coef_[order].astype(np.float64), svc.intercept_[order], np.zeros(len(order)))


def _primary_out_of_fold(x: sp.csr_matrix, named: np.ndarray, labels: Sequence[str], seed: int, strata: np.ndarray) -> np.ndarray:
    """The primary head's margins for every example from a head that did not see it (a code a
    fold never saw as primary gets a margin far below the rest)."""
    oof = np.full((len(named), len(labels)), -10.0)
    splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(strata)), strata):
        if len(set(named[train])) < 2:
            continue
        head = _primary_head(x[train], named[train], seed)
        oof[np.ix_(test, [labels.index(code) for code in head.labels])] = head.decision(x[test])
    return oof


def _primary_mix(margin: np.ndarray, reason_logit: np.ndarray, truth: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """Weights (a, b) of the primary score a·margin + b·logit(reason probability), the code with
    the highest score being the primary: a conditional logit (softmax over the codes, two shared
    weights) fitted by Newton's method on out-of-fold scores. The primary head learns which topic
    writers put first, the reasons head how plainly each topic is raised; out of fold, the two
    together name the writer's primary more often than either alone. Both are linear in the
    features, so the mix is folded into the primary head's weights and costs nothing to apply."""
    features = np.stack([margin, reason_logit], axis=-1)  # (examples, codes, 2)
    rows = np.arange(len(truth))
    w = np.array([1.0, 0.0])
    for _ in range(steps):
        z = features @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        mean = np.einsum("nc,nck->nk", p, features)
        g = (mean - features[rows, truth]).sum(axis=0) + 1e-3 * w
        centred = features - mean[:, None, :]
        h = np.einsum("nc,nck,ncl->kl", p, centred, centred) + 1e-3 * np.eye(2)
        step = np.linalg.solve(h, g)
        w = w - step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def _out_of_fold(x: sp.csr_matrix, y: np.ndarray, labels: Sequence[str], c: float, seed: int, strata: np.ndarray) -> np.ndarray:
    """Decision values of every training example from a model that did not see it."""
    oof = np.zeros(y.shape, dtype=np.float64)
    splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(strata)), strata):
        oof[test] = _binary_head(x[train], y[train], labels, c, seed).decision(x[test])
    return oof


def platt(head: LinearHead, oof_decision: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Turn each label's SVM margin into a probability (Platt scaling fitted on out-of-fold
    margins), folded into the head's weights so applying it costs nothing. Returns the
    out-of-fold probabilities, for tuning thresholds."""
    probabilities = np.zeros_like(oof_decision)
    for j in range(y.shape[1]):
        a, b = _sigmoid_fit(oof_decision[:, j], y[:, j])
        head.coef[j] *= a
        head.intercept[j] = head.intercept[j] * a + b
        probabilities[:, j] = expit(oof_decision[:, j] * a + b)
    head.coef = head.coef.astype(np.float32)
    return probabilities


def _sigmoid_fit(margin: np.ndarray, truth: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """Platt's fit of P(label | margin) = sigmoid(a·margin + b), by Newton's method with his
    smoothed targets (a two-parameter problem: far quicker than a general-purpose solver)."""
    positives, negatives = truth.sum(), (~truth).sum()
    if positives == 0 or negatives == 0:
        return 1.0, 0.0
    target = np.where(truth, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = expit(a * margin + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.dot(p - target, margin), np.sum(p - target)])
        h = np.array([[np.dot(w, margin * margin), np.dot(w, margin)], [np.dot(w, margin), w.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def best_f1_threshold(scores: np.ndarray, truth: np.ndarray, min_precision: float = 0.0) -> float:
    """The threshold (on a 0.025 grid) that maximises F1 of `scores >= t` against `truth`, among
    those whose precision is at least `min_precision`; if none reaches it, the most precise."""
    best, best_f1 = 0.5, -1.0
    fallback, fallback_precision = 0.5, -1.0
    for t in np.arange(0.05, 0.951, 0.025):
        predicted = scores >= t
        tp = np.sum(predicted & truth)
        precision = tp / predicted.sum() if predicted.any() else 0.0
        if precision > fallback_precision + 1e-12:
            fallback, fallback_precision = float(t), precision
        if precision < min_precision:
            continue
        f1 = 2 * tp / max(1, predicted.sum() + truth.sum())
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return round(best if best_f1 >= 0 else fallback, 3)


def label_matrix(examples: Sequence[Example], labels: Sequence[str], attribute: str) -> np.ndarray:
    return np.array([[label in getattr(e, attribute) for label in labels] for e in examples], dtype=bool)


def fit_models(
    examples: Sequence[Example], cleaned: Sequence[str], *, seed: int = 0, today: date, progress: Progress = lambda _: None
) -> TriageModels:
    """Train every head on the examples (texts already cleaned); thresholds from out-of-fold scores."""
    progress("features")
    features = TextFeatures.fit(cleaned)
    x = features.transform(cleaned).tocsr()  # training takes rows out of it
    kinds = np.array([e.kind for e in examples])
    strata = np.array([f"{e.kind}/{e.safeguarding}" for e in examples])

    progress("kind")
    kind = _calibrated(x, kinds, KIND_C, seed)
    progress("role")
    role = _calibrated(x, np.array([e.role for e in examples]), ROLE_C, seed)

    progress("reasons")
    y_reasons = label_matrix(examples, REASONS, "reasons")
    reasons = _binary_head(x, y_reasons, REASONS, REASON_C, seed)
    oof = platt(reasons, _out_of_fold(x, y_reasons, REASONS, REASON_C, seed, strata), y_reasons)
    reasons.thresholds = np.array([best_f1_threshold(oof[:, j], y_reasons[:, j], REASON_MIN_PRECISION) for j in range(len(REASONS))])

    progress("primary reason")
    has_primary = np.array([i for i, e in enumerate(examples) if e.primary_reason], dtype=int)
    named = np.array([examples[i].primary_reason for i in has_primary])
    primary = _primary_head(x[has_primary], named, seed)
    oof_primary = _primary_out_of_fold(x[has_primary], named, primary.labels, seed, strata[has_primary])
    rows = [REASONS.index(code) for code in primary.labels]
    reason_logit = logit(np.clip(oof[has_primary][:, rows], 1e-9, 1 - 1e-9))
    mix = _primary_mix(oof_primary, reason_logit, np.array([primary.labels.index(code) for code in named]))
    primary.coef = (mix[0] * primary.coef + mix[1] * reasons.coef[rows]).astype(np.float32)
    primary.intercept = mix[0] * primary.intercept + mix[1] * reasons.intercept[rows]

    progress("safeguarding")
    y_sg = np.array([[e.safeguarding] for e in examples])
    safeguarding = _binary_head(x, y_sg, ["safeguarding"], SAFEGUARDING_C, seed)
    oof_sg = platt(safeguarding, _out_of_fold(x, y_sg, ["safeguarding"], SAFEGUARDING_C, seed, strata), y_sg)[:, 0]
    signals = [find_signals(text, today=today) for text in cleaned]
    ordinary = np.array([not e.safeguarding and e.kind != "compliment" for e in examples])
    # The disclosure budget counts the alarms the level really raises: the vetoed ones are
    # `possible`. (Counting them as `disclosure` left the model no room to speak once the corpus
    # held many messages that fire a rule wrongly: out of fold its share of disclosures fell to 0.92.)
    veto = veto_threshold(oof_sg, y_sg[:, 0], signals)
    disclosure = disclosure_threshold(oof_sg, y_sg[:, 0], signals, ordinary, veto)
    safeguarding.thresholds = np.array([possible_threshold(oof_sg, y_sg[:, 0], signals, ordinary, disclosure, veto)])

    progress("eligibility flags")
    y_flags = label_matrix(examples, FLAGS, "flags")
    flags = _binary_head(x, y_flags, FLAGS, FLAG_C, seed)
    oof_flags = platt(flags, _out_of_fold(x, y_flags, FLAGS, FLAG_C, seed, strata), y_flags)
    ruled = [flag_rules(t, today=today) for t in cleaned]
    rules = np.array([[f in r for f in FLAGS] for r in ruled])
    thresholds, used = [], []
    for j, name in enumerate(FLAGS):
        alone = best_f1_threshold(oof_flags[:, j], y_flags[:, j])
        with_rules = best_f1_threshold(np.maximum(oof_flags[:, j], rules[:, j]), y_flags[:, j])
        f1_alone = _f1(oof_flags[:, j] >= alone, y_flags[:, j])
        f1_rules = _f1((oof_flags[:, j] >= with_rules) | rules[:, j], y_flags[:, j])
        if f1_rules > f1_alone:
            used.append(name)
            thresholds.append(with_rules)
        else:
            thresholds.append(alone)
    flags.thresholds = np.array(thresholds)
    return TriageModels(features, kind, role, reasons, primary, safeguarding, flags, tuple(used), disclosure, rule_veto=veto, primary_mix=mix)


def _f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(predicted & truth)
    return float(2 * tp / max(1, predicted.sum() + truth.sum()))


def _calibrated(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int) -> CalibratedClassifierCV:
    svc = LinearSVC(C=c, class_weight="balanced", random_state=seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=FOLDS, ensemble=False).fit(x, y)


def recall_threshold(oof: np.ndarray, truth: np.ndarray) -> float:
    """The highest threshold at which the model alone still catches SAFEGUARDING_MODEL_RECALL
    of the disclosures, out of fold (capped). A false alarm costs an officer a minute; a miss
    costs a child: the rules add recall on top, never instead."""
    if not truth.any():
        return SAFEGUARDING_CAP
    return round(float(min(SAFEGUARDING_CAP, np.quantile(oof[truth], 1 - SAFEGUARDING_MODEL_RECALL))), 4)


def possible_threshold(oof: np.ndarray, truth: np.ndarray, signals: Sequence[Sequence[str]], ordinary: np.ndarray,
                       disclosure: float, veto: float = 0.0) -> float:
    """The `possible` threshold (see the module docstring): start where the model alone catches
    SAFEGUARDING_MODEL_RECALL of the disclosures, and raise it a step at a time while officers
    would see more than POSSIBLE_BUDGET of ordinary complaints flagged `possible`, stopping
    before the model alone falls under MODEL_RECALL_FLOOR or rules and model together lose a
    disclosure."""
    start = recall_threshold(oof, truth)
    if not truth.any() or not ordinary.any():
        return start
    ruled = np.array([bool(s) for s in signals])
    everyday = [(signals[i], float(oof[i])) for i in np.flatnonzero(ordinary)]

    def possible_rate(t: float) -> float:
        return sum(level(s, score, t, disclosure, veto) == "possible" for s, score in everyday) / len(everyday)

    caught = ((oof >= start) | ruled)[truth].mean()
    best = start
    for t in np.arange(start + 0.01, SAFEGUARDING_CAP + 1e-9, 0.01):
        if possible_rate(best) <= POSSIBLE_BUDGET:
            break
        if (oof[truth] >= t).mean() < MODEL_RECALL_FLOOR or ((oof >= t) | ruled)[truth].mean() < caught:
            break
        best = round(float(t), 4)
    return round(float(best), 4)


def veto_threshold(oof: np.ndarray, truth: np.ndarray, signals: Sequence[Sequence[str]]) -> float:
    """The score under which the model vetoes a rule's `disclosure` (it becomes `possible`): the
    highest, in steps of 0.001 up to RULE_VETO_CAP, at which, out of fold, no more than
    RULE_VETO_LOSS of the disclosures the rules would send to `disclosure` are moved. The rules
    read phrases; a film, a game or harm long over in words they do not know still fires them,
    and the model, reading the whole message, is then all but sure it is ordinary. A vetoed
    disclosure is still flagged for officers the same day; a false one tells a child to call 999."""
    ruled = np.array([level(s, 0.0, 1.0, 1.0) == "disclosure" for s in signals]) & truth
    if not truth.any():
        return 0.0
    best = 0.0
    for v in np.round(np.arange(0.001, RULE_VETO_CAP + 1e-9, 0.001), 3).tolist():
        if (ruled & (oof < v)).sum() > RULE_VETO_LOSS * truth.sum():
            break
        best = v
    return best


def disclosure_threshold(oof: np.ndarray, truth: np.ndarray, signals: Sequence[Sequence[str]], ordinary: np.ndarray,
                         veto: float = 0.0) -> float:
    """The lowest score at which the model alone may say `disclosure`: out of fold, messages at
    or above it are disclosures DISCLOSURE_PRECISION of the time, and ordinary complaints at the
    `disclosure` level (the rules' false alarms included, less those `veto` moves to `possible`)
    stay within DISCLOSURE_BUDGET. A wrong
    `disclosure` tells a child to call 999 over pocket money, so this leans the other way from
    `recall_threshold`; a budget for the whole level, rather than for the model's share, lets
    the model speak wherever the rules are quiet."""
    possible_at = recall_threshold(oof, truth)
    everyday = [(signals[i], float(oof[i])) for i in np.flatnonzero(ordinary)]
    for t in np.round(np.arange(0.30, 0.991, 0.01), 2).tolist():  # rounded first: checked as returned
        over = oof >= t
        if not over.any() or truth[over].mean() < DISCLOSURE_PRECISION:
            continue
        alarms = sum(level(s, score, possible_at, t, veto) == "disclosure" for s, score in everyday)
        if alarms <= DISCLOSURE_BUDGET * max(1, len(everyday)):
            return t
    return 1.0
