"""The bridge from the classifier to intake: a `Suggestion` for a text.

The classifier suggests; people decide. Every new case is `needs_review` until an officer
confirms it; the suggestion's own `needs_review` (low confidence, unreadable text) is kept
in the triage detail so the queue can say why.
"""

from __future__ import annotations

import logging

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


def suggest_with_classifier() -> Classify | None:
    """The shipped classifier as intake's `classify`; None (every item needs review) if it cannot load."""
    from triage.classifier import ArtefactError, load_classifier

    try:
        classifier = load_classifier()
    except ArtefactError as exc:
        log.error("the classifier could not be loaded, so new items need review by hand: %s", exc)
        return None
    return lambda text: suggestion_from(classifier.classify(text))
