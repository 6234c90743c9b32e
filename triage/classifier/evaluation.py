"""How well the classifier does: a fixed held-out split and k-fold cross-validation.

Both retrain from scratch on the training part only (features, thresholds and all), so no
score has seen its test text. The held-out split is stratified on kind × safeguarding and
fixed by the seed, so the headline "safeguarding recall on held-out disclosures" is about
the same disclosures every time. Relative dates in the texts are judged against
EVALUATION_DATE, so results do not drift as the calendar moves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, train_test_split

from triage.classifier.classification import Classification
from triage.classifier.corpus import FLAGS, KINDS, REASONS, ROLES, Example

EVALUATION_DATE = date(2026, 11, 23)  # when the corpus was written
HELD_OUT_FRACTION = 0.2
REVIEW_GRID = [round(t, 2) for t in np.arange(0.40, 0.901, 0.05)]
REVIEW_TARGET_ACCURACY = 0.95

Fit = Callable[[Sequence[Example]], Any]  # returns something with classify_many


def strata(examples: Sequence[Example]) -> list[str]:
    return [f"{e.kind}/{e.safeguarding}" for e in examples]


def held_out_split(examples: Sequence[Example], seed: int) -> tuple[list[int], list[int]]:
    """Indices of the training and held-out parts (80/20, stratified, fixed by the seed)."""
    index = np.arange(len(examples))
    train, test = train_test_split(index, test_size=HELD_OUT_FRACTION, random_state=seed, stratify=strata(examples))
    return sorted(train.tolist()), sorted(test.tolist())


def folds(examples: Sequence[Example], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(np.zeros(len(examples)), strata(examples))]


def _class_table(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    report = classification_report(truth, predicted, labels=list(labels), output_dict=True, zero_division=0)
    return {
        "per_class": {
            label: {k: round(float(report[label][k]), 4) for k in ("precision", "recall", "f1-score")} | {"support": int(report[label]["support"])}
            for label in labels
        },
        "accuracy": round(float(np.mean(np.array(truth) == np.array(predicted))), 4),
        "macro_f1": round(float(report["macro avg"]["f1-score"]), 4),
        "confusion": {"labels": list(labels), "matrix": confusion_matrix(truth, predicted, labels=list(labels)).tolist()},
    }


def _multilabel(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    p, r, f, s = precision_recall_fscore_support(truth, predicted, zero_division=0)
    micro = precision_recall_fscore_support(truth, predicted, average="micro", zero_division=0)
    per = {}
    for j, label in enumerate(labels):
        tp = int(np.sum(truth[:, j] & predicted[:, j]))
        fp = int(np.sum(~truth[:, j] & predicted[:, j]))
        fn = int(np.sum(truth[:, j] & ~predicted[:, j]))
        per[label] = {"precision": round(float(p[j]), 4), "recall": round(float(r[j]), 4), "f1-score": round(float(f[j]), 4),
                      "support": int(s[j]), "tp": tp, "fp": fp, "fn": fn, "tn": int(len(truth) - tp - fp - fn)}  # fmt: skip
    return {
        "per_label": per,
        "micro_precision": round(float(micro[0]), 4),
        "micro_recall": round(float(micro[1]), 4),
        "micro_f1": round(float(micro[2]), 4),
        "macro_f1": round(float(np.mean(f)), 4),
    }


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: how far stated confidence is from accuracy, on average."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return round(float(total), 4)


def score(examples: Sequence[Example], predictions: Sequence[Classification], review_threshold: float) -> dict[str, Any]:
    """Every metric for predictions on labelled examples."""
    kinds_true = [e.kind for e in examples]
    kinds_pred = [p.kind.value for p in predictions]
    kind_conf = np.array([p.kind_confidence for p in predictions])
    kind_correct = np.array(kinds_true) == np.array(kinds_pred)
    confident = kind_conf >= review_threshold

    reasons_true = np.array([[r in e.reasons for r in REASONS] for e in examples])
    reasons_pred = np.array([[r in {c for c, _ in p.reasons} for r in REASONS] for p in predictions])
    with_primary = [i for i, e in enumerate(examples) if e.primary_reason]

    sg_true = np.array([e.safeguarding for e in examples])
    sg_pred = np.array([p.safeguarding for p in predictions])
    sg_disclosure = np.array([p.safeguarding_level == "disclosure" for p in predictions])
    sg_possible = sg_pred & ~sg_disclosure
    # ordinary complaints: complaints and initial feedback that tell of no harm (compliments aside)
    ordinary = ~sg_true & np.array([e.kind != "compliment" for e in examples])
    by_rule = np.array([any(not s.startswith("model:") for s in p.safeguarding_signals) for p in predictions])
    by_model = np.array([any(s.startswith("model:") for s in p.safeguarding_signals) for p in predictions])
    hard = np.array([e.hard_negative for e in examples])
    negatives = ~sg_true

    flags_true = np.array([[f in e.flags for f in FLAGS] for e in examples])
    flags_pred = np.array([[f in p.flags for f in FLAGS] for p in predictions])

    def rate(mask: np.ndarray, within: np.ndarray) -> float:
        return round(float(mask[within].mean()), 4) if within.any() else 0.0

    return {
        "examples": len(examples),
        "kind": _class_table(kinds_true, kinds_pred, KINDS)
        | {"calibration_error": calibration_error(kind_conf, kind_correct), "brier": _brier(predictions, kinds_true)},
        "role": _class_table([e.role for e in examples], [p.role.value for p in predictions], ROLES),
        "reasons": _multilabel(reasons_true, reasons_pred, REASONS),
        "primary_reason": {
            "accuracy": round(float(np.mean([predictions[i].primary_reason == examples[i].primary_reason for i in with_primary])), 4)
            if with_primary else 0.0,  # fmt: skip
            "support": len(with_primary),
            "by_style": {
                style: round(float(np.mean([predictions[i].primary_reason == examples[i].primary_reason
                                            for i in with_primary if examples[i].style == style])), 4)
                for style in sorted({examples[i].style for i in with_primary})
            },
        },
        "safeguarding": {
            "disclosures": int(sg_true.sum()),
            "non_disclosures": int(negatives.sum()),
            "hard_negatives": int(hard.sum()),
            "recall": rate(sg_pred, sg_true),
            "disclosure_recall": rate(sg_disclosure, sg_true),
            "ordinary_complaints": int(ordinary.sum()),
            "disclosure_false_positive_rate_ordinary": rate(sg_disclosure, ordinary),
            "possible_rate_ordinary": rate(sg_possible, ordinary),
            "disclosure_precision": round(float(sg_true[sg_disclosure].mean()), 4) if sg_disclosure.any() else 0.0,
            "missed_by_disclosure_level": [examples[i].id for i in np.flatnonzero(sg_true & ~sg_disclosure)],
            "false_disclosures": [examples[i].id for i in np.flatnonzero(~sg_true & sg_disclosure)],
            "recall_rules_only": rate(by_rule, sg_true),
            "recall_model_only": rate(by_model, sg_true),
            "false_positive_rate": rate(sg_pred, negatives),
            "false_positive_rate_hard_negatives": rate(sg_pred, hard & negatives),
            "precision": round(float(sg_true[sg_pred].mean()), 4) if sg_pred.any() else 0.0,
            "missed": [examples[i].id for i in np.flatnonzero(sg_true & ~sg_pred)],
            "confusion": {"labels": ["disclosure", "not"], "matrix": [
                [int((sg_true & sg_pred).sum()), int((sg_true & ~sg_pred).sum())],
                [int((negatives & sg_pred).sum()), int((negatives & ~sg_pred).sum())],
            ]},  # fmt: skip
        },
        "flags": _multilabel(flags_true, flags_pred, FLAGS),
        "needs_review": {
            "threshold": review_threshold,
            "rate": round(float(1 - confident.mean()), 4),
            "kind_accuracy_when_confident": round(float(kind_correct[confident].mean()), 4) if confident.any() else 0.0,
            "kind_accuracy_when_review": round(float(kind_correct[~confident].mean()), 4) if (~confident).any() else 0.0,
        },
    }


def _brier(predictions: Sequence[Classification], truth: Sequence[str]) -> float:
    """Brier score of the predicted kind's confidence (1 − confidence counts as the rest)."""
    return round(float(np.mean([(p.kind_confidence - (p.kind.value == t)) ** 2 for p, t in zip(predictions, truth)])), 4)


def choose_review_threshold(predictions: Sequence[Classification], examples: Sequence[Example]) -> float:
    """The lowest confidence at which the kind is right REVIEW_TARGET_ACCURACY of the time."""
    conf = np.array([p.kind_confidence for p in predictions])
    correct = np.array([p.kind.value == e.kind for p, e in zip(predictions, examples)])
    for t in REVIEW_GRID:
        kept = conf >= t
        if kept.any() and correct[kept].mean() >= REVIEW_TARGET_ACCURACY:
            return float(t)
    return REVIEW_GRID[-1]


def run_fold(fit: Fit, examples: Sequence[Example], train: list[int], test: list[int]) -> list[Classification]:
    """Fit on `train`, predict `test`."""
    classifier = fit([examples[i] for i in train])
    return classifier.classify_many([examples[i].text for i in test])


def summary(report: dict[str, Any]) -> dict[str, float]:
    """The four headline numbers of the issue."""
    return {
        "kind_macro_f1": report["kind"]["macro_f1"],
        "reason_micro_f1": report["reasons"]["micro_f1"],
        "role_accuracy": report["role"]["accuracy"],
        "safeguarding_recall": report["safeguarding"]["recall"],
        "safeguarding_false_positive_rate": report["safeguarding"]["false_positive_rate"],
        "disclosure_recall": report["safeguarding"]["disclosure_recall"],
        "disclosure_false_positive_rate_ordinary": report["safeguarding"]["disclosure_false_positive_rate_ordinary"],
        "possible_rate_ordinary": report["safeguarding"]["possible_rate_ordinary"],
        "primary_reason_accuracy": report["primary_reason"]["accuracy"],
        "primary_reason_accuracy_summaries": report["primary_reason"]["by_style"].get("summary", 0.0),
        "confidentiality_records_precision": report["reasons"]["per_label"]["confidentiality_records"]["precision"],
    }


def format_report(title: str, report: dict[str, Any]) -> str:
    """Per-class precision, recall and F1 and the confusion matrices, as plain text."""
    out = [f"== {title} ({report['examples']} examples) =="]
    for name in ("kind", "role"):
        section = report[name]
        out.append(f"\n{name}: accuracy {section['accuracy']:.3f}, macro-F1 {section['macro_f1']:.3f}")
        out += _table(section["per_class"])
        out += _confusion(section["confusion"])
    k = report["kind"]
    out.append(f"kind calibration: expected calibration error {k['calibration_error']:.3f}, Brier {k['brier']:.3f}")
    r = report["reasons"]
    out.append(f"\nreasons: micro-F1 {r['micro_f1']:.3f} (P {r['micro_precision']:.3f}, R {r['micro_recall']:.3f}), macro-F1 {r['macro_f1']:.3f}")
    out += _table(r["per_label"], counts=True)
    p = report["primary_reason"]
    out.append(f"primary reason: accuracy {p['accuracy']:.3f} on {p['support']} examples with a reason ("
               + ", ".join(f"{style} {acc:.3f}" for style, acc in p["by_style"].items()) + ")")
    s = report["safeguarding"]
    out.append(
        f"\nsafeguarding: recall {s['recall']:.3f} on {s['disclosures']} disclosures "
        f"(rules alone {s['recall_rules_only']:.3f}, model alone {s['recall_model_only']:.3f}); "
        f"false-positive rate {s['false_positive_rate']:.3f} on {s['non_disclosures']} non-disclosures, "
        f"{s['false_positive_rate_hard_negatives']:.3f} on {s['hard_negatives']} hard negatives; precision {s['precision']:.3f}"
    )
    out.append(
        f"  levels: `disclosure` catches {s['disclosure_recall']:.3f} of disclosures (precision {s['disclosure_precision']:.3f}); "
        f"on {s['ordinary_complaints']} ordinary complaints, `disclosure` {s['disclosure_false_positive_rate_ordinary']:.3f}, "
        f"`possible` {s['possible_rate_ordinary']:.3f}"
    )
    out += _confusion(s["confusion"])
    if s["missed"]:
        out.append(f"missed disclosures: {', '.join(s['missed'])}")
    if s["false_disclosures"]:
        out.append(f"ordinary messages at the disclosure level: {', '.join(s['false_disclosures'][:30])}")
    f = report["flags"]
    out.append(f"\nflags: micro-F1 {f['micro_f1']:.3f}")
    out += _table(f["per_label"], counts=True)
    n = report["needs_review"]
    out.append(
        f"\nneeds_review below kind confidence {n['threshold']:.2f}: {n['rate']:.1%} of messages; "
        f"kind accuracy {n['kind_accuracy_when_confident']:.3f} on the rest, {n['kind_accuracy_when_review']:.3f} on those sent to review"
    )
    return "\n".join(out)


def score_groups(examples: Sequence[Example], predictions: Sequence[Classification], groups: Sequence[str]) -> dict[str, Any]:
    """Per group of a test set (e.g. `teen_everyday`, `summary`): kind and primary-reason accuracy
    and how often each safeguarding level fired, so a register the corpus lacks shows up on its own."""
    out: dict[str, Any] = {}
    for group in sorted(set(groups)):
        idx = [i for i, g in enumerate(groups) if g == group]
        with_primary = [i for i in idx if examples[i].primary_reason]
        out[group] = {
            "examples": len(idx),
            "kind_accuracy": round(float(np.mean([predictions[i].kind.value == examples[i].kind for i in idx])), 4),
            "primary_reason_accuracy": round(float(np.mean([predictions[i].primary_reason == examples[i].primary_reason
                                                            for i in with_primary])), 4) if with_primary else None,
            "disclosure_level": round(float(np.mean([predictions[i].safeguarding_level == "disclosure" for i in idx])), 4),
            "possible_level": round(float(np.mean([predictions[i].safeguarding_level == "possible" for i in idx])), 4),
            "needs_review": round(float(np.mean([predictions[i].needs_review for i in idx])), 4),
        }
    return out


def format_groups(groups: dict[str, Any]) -> list[str]:
    lines = [f"  {'group':<24}{'n':>5}{'kind':>7}{'primary':>9}{'disclosure':>12}{'possible':>10}{'review':>8}"]
    for name, g in groups.items():
        primary = f"{g['primary_reason_accuracy']:.3f}" if g["primary_reason_accuracy"] is not None else "-"
        lines.append(f"  {name:<24}{g['examples']:>5}{g['kind_accuracy']:>7.3f}{primary:>9}{g['disclosure_level']:>12.3f}"
                     f"{g['possible_level']:>10.3f}{g['needs_review']:>8.3f}")
    return lines


def _table(rows: dict[str, dict[str, Any]], counts: bool = False) -> list[str]:
    head = f"  {'':<26}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}" + (f"{'TP':>6}{'FP':>6}{'FN':>6}" if counts else "")
    lines = [head]
    for label, m in rows.items():
        line = f"  {label:<26}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1-score']:>7.3f}{m['support']:>9}"
        if counts:
            line += f"{m['tp']:>6}{m['fp']:>6}{m['fn']:>6}"
        lines.append(line)
    return lines


def _confusion(confusion: dict[str, Any]) -> list[str]:
    labels = confusion["labels"]
    short = [label[:10] for label in labels]
    lines = ["  confusion (rows: true, columns: predicted)", "  " + " " * 24 + "".join(f"{s:>11}" for s in short)]
    for label, row in zip(labels, confusion["matrix"]):
        lines.append(f"  {label:<24}" + "".join(f"{v:>11}" for v in row))
    return lines
