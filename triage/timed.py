"""How long the classifier takes, as a Prometheus histogram (`heard_classifier_seconds`).

Kept beside the classifier rather than in the web app: chats classify in `heard serve`'s own
process, email in its worker processes, and each observes into the process that runs it (a
worker passes its timings to its parent, which /metrics can be asked — see bots/email/worker.py).
A batch (`many`) is timed once and its time shared among its messages, so the figure is always
seconds per message, whichever way it was classified.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from prometheus_client import Histogram

from triage.intake import Classify, Suggestion

CLASSIFIER_SECONDS = Histogram(
    "heard_classifier_seconds", "Time the classifier took per message (a batch's time shared among its messages).",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


class Timed:
    """A `classify` that reports each message's time to `observe` (the histogram by default)."""

    def __init__(self, inner: Classify, observe: Callable[[float], None] = CLASSIFIER_SECONDS.observe) -> None:
        self.inner, self.observe = inner, observe
        if hasattr(inner, "many"):  # intake's Primed looks for `many`: offer it only when the inner one has it
            self.many = self._many

    def __call__(self, text: str) -> Suggestion:
        started = time.perf_counter()
        try:
            return self.inner(text)
        finally:
            self.observe(time.perf_counter() - started)

    def _many(self, texts: Sequence[str]) -> list[Suggestion]:
        started = time.perf_counter()
        try:
            return self.inner.many(texts)  # type: ignore[attr-defined,no-any-return]
        finally:
            if texts:
                each = (time.perf_counter() - started) / len(texts)
                for _ in texts:
                    self.observe(each)


def timed(classify: Classify | None, observe: Callable[[float], None] = CLASSIFIER_SECONDS.observe) -> Classify | None:
    """`classify`, timed; None stays None (no classifier: nothing to time)."""
    return Timed(classify, observe) if classify is not None else None
