"""`heard train`: evaluate (held-out split and cross-validation), fit on everything, save.

Reproducible: every random choice is seeded (the split, the folds, the SVMs), nothing
depends on the clock (relative dates are judged against the evaluation date), and the
metrics file holds no timings, so training twice gives byte-identical metrics.json.
Cross-validation folds run in parallel (joblib, one process per core).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from models.enums import Kind
from triage.classifier.classification import DEFAULT_REVIEW_THRESHOLD, Classification, Classifier
from triage.classifier.corpus import FLAGS, KINDS, REASONS, ROLES, Example, corpus_digest, load_corpus, load_test_set
from triage.classifier.evaluation import (
    EVALUATION_DATE,
    choose_review_threshold,
    folds,
    held_out_split,
    run_fold,
    score,
    score_groups,
    summary,
)
from triage.classifier.model_card import BLIND_SETS as BLIND_SET_NOTES
from triage.classifier.model_card import write_model_card
from triage.classifier.models import fit_models
from triage.classifier.persistence import DEFAULT_ARTEFACT, save_classifier
from triage.cleaning import clean

Progress = Callable[[str], None]
# Written separately from the corpus, by writers who never saw it, and never trained on; which
# they are, and what each is now, is model_card.BLIND_SETS (the key is the file's stem).
BLIND_SETS = tuple(Path(__file__).resolve().parents[2] / "tests" / "data" / f"{key}.jsonl" for key in BLIND_SET_NOTES)
CORRECTION_FIELDS = ("kind", "reasons", "primary_reason", "role", "safeguarding")


def fit_classifier(
    examples: Sequence[Example], *, seed: int = 0, review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    progress: Progress = lambda _: None, extra_meta: dict[str, Any] | None = None,
) -> Classifier:  # fmt: skip
    """A classifier trained on the examples, ready to use or save."""
    cleaned = [clean(e.text) for e in examples]
    models = fit_models(examples, cleaned, seed=seed, today=EVALUATION_DATE, progress=progress)
    meta = {
        "seed": seed,
        "review_threshold": review_threshold,
        "trained_on": len(examples),
        "corpus_sha256": corpus_digest(examples),
        "reason_thresholds": dict(zip(REASONS, map(float, models.reasons.thresholds))),
        "safeguarding_threshold": float(models.safeguarding.thresholds[0]),
        "disclosure_threshold": float(models.disclosure_threshold),
        "rule_veto": float(models.rule_veto),
        "flag_thresholds": dict(zip(FLAGS, map(float, models.flags.thresholds))),
        "flag_rules_used": list(models.flag_rules_used),
        "primary_mix": {"primary_margin": round(models.primary_mix[0], 4), "reason_logit": round(models.primary_mix[1], 4)},
        "features": models.features.size,
        **(extra_meta or {}),
    }
    return Classifier(models, meta, today=EVALUATION_DATE)


def _fold_job(examples: Sequence[Example], train: list[int], test: list[int], seed: int) -> list[Classification]:
    return run_fold(lambda part: fit_classifier(part, seed=seed), examples, train, test)


def evaluate(examples: Sequence[Example], *, seed: int = 0, k: int = 5, n_jobs: int = 2, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Held-out and cross-validated metrics; also chooses the review threshold (from the CV predictions)."""
    train, test = held_out_split(examples, seed)
    splits = [(train, test)] + folds(examples, k, seed)
    names = ["held-out split"] + [f"cross-validation fold {i + 1}/{k}" for i in range(k)]
    progress(f"evaluating: {len(splits)} trainings on {n_jobs} process(es)")
    results: list[list[Classification]] = []
    jobs = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_fold_job)(examples, tr, te, seed) for tr, te in splits)
    for name, result in zip(names, jobs):
        results.append(result)
        progress(f"{name} done")
    oof: list[Classification | None] = [None] * len(examples)
    fold_scores = []
    for (_, te), predictions in zip(splits[1:], results[1:]):
        for i, p in zip(te, predictions):
            oof[i] = p
    cv_predictions = [p for p in oof if p is not None]
    threshold = choose_review_threshold(cv_predictions, examples)
    for (_, te), predictions in zip(splits[1:], results[1:]):
        part = score([examples[i] for i in te], predictions, threshold)
        fold_scores.append(summary(part))
    held = score([examples[i] for i in test], results[0], threshold)
    cv = score(examples, cv_predictions, threshold)
    cv["folds"] = k
    cv["per_fold"] = fold_scores
    cv["spread"] = {key: round(float(np.std([f[key] for f in fold_scores])), 4) for key in fold_scores[0]}
    held["held_out_ids"] = [examples[i].id for i in test]
    return {"review_threshold": threshold, "held_out": held, "cross_validation": cv}


def evaluate_test_set(classifier: Classifier, path: Path) -> dict[str, Any]:
    """How a trained classifier does on a labelled test set it never saw: every metric, and per group."""
    examples, groups = load_test_set(path)
    predictions = classifier.classify_many([e.text for e in examples])
    report = score(examples, predictions, classifier.review_threshold)
    report["groups"] = score_groups(examples, predictions, groups)
    report["file"] = path.name
    return report


def corpus_profile(examples: Sequence[Example]) -> dict[str, Any]:
    def count(values: Sequence[str], keys: Sequence[str]) -> dict[str, int]:
        return {key: sum(v == key for v in values) for key in keys}

    return {
        "examples": len(examples),
        "sha256": corpus_digest(examples),
        "by_part": {p: sum(e.part == p for e in examples) for p in sorted({e.part for e in examples})},
        "kind": count([e.kind for e in examples], KINDS),
        "reasons": {r: sum(r in e.reasons for e in examples) for r in REASONS},
        "role": count([e.role for e in examples], ROLES),
        "safeguarding_disclosures": sum(e.safeguarding for e in examples),
        "hard_negatives": sum(e.hard_negative for e in examples),
        "flags": {f: sum(f in e.flags for e in examples) for f in FLAGS},
        "style": {s: sum(e.style == s for e in examples) for s in sorted({e.style for e in examples})},
    }


def train(
    *, corpus_dir: Path | None = None, output: Path = DEFAULT_ARTEFACT, corrections: Sequence[Example] = (),
    seed: int = 0, k: int = 5, n_jobs: int = 2, progress: Progress = lambda _: None, model_card: Path | None = None,
    test_sets: Sequence[Path] = BLIND_SETS,
) -> dict[str, Any]:  # fmt: skip
    """Evaluate, fit on the corpus (and corrections), write the artefact, metrics.json and the model card."""
    progress("reading the corpus")
    examples = load_corpus(corpus_dir)
    metrics: dict[str, Any] = {"corpus": corpus_profile(examples), "seed": seed}
    metrics |= evaluate(examples, seed=seed, k=k, n_jobs=n_jobs, progress=progress)
    metrics["summary"] = {
        "cross_validation": summary(metrics["cross_validation"]),
        "held_out": summary(metrics["held_out"]),
    }
    metrics["corrections_added"] = len(corrections)
    training_set = [*examples, *corrections]
    progress(f"final model on {len(training_set)} examples")
    classifier = fit_classifier(
        training_set, seed=seed, review_threshold=metrics["review_threshold"], progress=lambda s: progress(f"final model: {s}"),
        extra_meta={"corrections_added": len(corrections), "summary": metrics["summary"]},
    )  # fmt: skip
    metrics["final_model"] = {k: v for k, v in classifier.meta.items() if k != "summary"}
    for test_set in (t for t in test_sets if t.exists()):  # reported under the file's stem: "blind_set", "blind_set_2"
        progress(f"blind test set {test_set.name}")
        metrics[test_set.stem] = evaluate_test_set(classifier, test_set)
        metrics["summary"][test_set.stem] = summary(metrics[test_set.stem])
    progress(f"saving {output}")
    save_classifier(classifier, output)
    metrics_path = output.parent / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    write_model_card(metrics, model_card or output.parent.parent / "MODEL_CARD.md")
    return metrics


def corrections_to_examples(rows: Sequence[dict[str, Any]], base: Classifier) -> tuple[list[Example], int]:
    """Officers' corrections (TrainingLabel rows: text, field, corrected) as training examples.

    A correction fixes one field of one text; the other fields come from what the current
    model says about that text, and later corrections win. Rows with a value that is not
    valid for their field are skipped and counted."""
    by_text: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row.get("text"), str) and row["text"].strip():
            by_text.setdefault(row["text"], []).append(row)
    examples, skipped = [], 0
    for n, (text, fixes) in enumerate(by_text.items(), 1):
        guess = base.classify(text)
        example = Example(
            id=f"correction-{n:05d}", text=text, kind=guess.kind.value, reasons=tuple(c for c, _ in guess.reasons),
            primary_reason=guess.primary_reason, role=guess.role.value, safeguarding=guess.safeguarding,
            style="correction", part="corrections",
        )  # fmt: skip
        for fix in fixes:
            updated = _apply(example, str(fix.get("field")), fix.get("corrected"))
            if updated is None:
                skipped += 1
            else:
                example = updated
        examples.append(example)
    return examples, skipped


def _apply(example: Example, field: str, value: Any) -> Example | None:
    if field == "kind" and value in KINDS:
        if value == Kind.compliment.value:  # pure thanks carries no reasons (LABELS.md)
            return replace(example, kind=value, reasons=(), primary_reason=None)
        return replace(example, kind=value)
    if field == "reasons" and isinstance(value, list) and all(v in REASONS for v in value):
        reasons = tuple(dict.fromkeys(value))
        primary = example.primary_reason if example.primary_reason in reasons else (reasons[0] if reasons else None)
        return replace(example, reasons=reasons, primary_reason=primary)
    if field == "primary_reason" and value in REASONS:
        reasons = example.reasons if value in example.reasons else (value, *example.reasons)
        return replace(example, reasons=reasons, primary_reason=value)
    if field == "role" and value in ROLES:
        return replace(example, role=value)
    if field == "safeguarding" and isinstance(value, bool):
        return replace(example, safeguarding=value)
    return None

