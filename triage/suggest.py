"""The bridge from the classifier to intake: a `Suggestion` for a text.

The classifier suggests; people decide. Every new case is `needs_review` until an officer
confirms it; the suggestion's own `needs_review` (low confidence, unreadable text) is kept
in the triage detail so the queue can say why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from models.enums import Kind, Reason, Role, SafeguardingLevel
from triage.intake import Classify, Suggestion

log = logging.getLogger("heard.triage")


def suggestion_from(result) -> Suggestion:  # type: ignore[no-untyped-def]
    """A `Classification` as intake stores it."""
    return Suggestion(
        kind=Kind(result.kind),
        confidence=result.kind_confidence,
        reasons=[Reason(code) for code, _ in result.reasons],
        primary_reason=Reason(result.primary_reason) if result.primary_reason else None,
        role=Role(result.role),
        safeguarding_level=SafeguardingLevel(result.safeguarding_level) if result.safeguarding_level else None,
        signals=list(result.safeguarding_signals),
        flags=list(result.flags),
        needs_review=result.needs_review,
        detail=result.as_dict(),
    )


class ClassifierSuggest:
    """The classifier as intake's `classify`, with `many` for a batch: one call for many texts
    costs little more than one for a single text (the features and the models' arithmetic are
    done for the whole batch at once)."""

    def __init__(self, classifier) -> None:  # type: ignore[no-untyped-def]
        self.classifier = classifier

    def __call__(self, text: str) -> Suggestion:
        return suggestion_from(self.classifier.classify(text))

    def many(self, texts: Sequence[str]) -> list[Suggestion]:
        return [suggestion_from(r) for r in self.classifier.classify_many(texts)]


class Primed:
    """A `classify` that answers from a batch classified in advance.

    A worker primes it with the texts of a batch (one `many` call when the classifier has
    it), then code that classifies one text at a time gets the answer already worked out.
    A text it was not primed with is classified on its own. One thread at a time.
    """

    def __init__(self, classify: Classify) -> None:
        self.inner = classify
        self.ready: dict[str, Suggestion] = {}

    def prime(self, texts: Sequence[str]) -> None:
        many = getattr(self.inner, "many", None)
        todo = list(dict.fromkeys(texts))
        self.ready = dict(zip(todo, many(todo) if many else map(self.inner, todo), strict=True))

    def __call__(self, text: str) -> Suggestion:
        found = self.ready.get(text)
        return found if found is not None else self.inner(text)


def suggest_with_classifier() -> ClassifierSuggest | None:
    """The shipped classifier as intake's `classify`; None (every item needs review) if it cannot load."""
    from triage.classifier import ArtefactError, load_classifier

    try:
        classifier = load_classifier()
    except ArtefactError as exc:
        log.error("the classifier could not be loaded, so new items need review by hand: %s", exc)
        return None
    return ClassifierSuggest(classifier)
