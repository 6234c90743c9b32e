"""What the channels took in and turned away, counted in the process that did it.

These are Prometheus counters in the process's own registry, not figures read from the database:
a refusal (SMTP 550 for an address we do not take, 552 for a message too big, a Telegram group
chat) leaves no row behind, and an accepted message's row may be deleted years later by the
retention schedule, which a counter must never see as going down. Each `heard serve` process
counts what it took in; Prometheus adds them up across processes (`sum by (channel)`).
"""

from __future__ import annotations

from prometheus_client import Counter

ACCEPTED = Counter("heard_representations_accepted", "Messages people sent that Heard stored (repeats not counted), by channel.",
                   ["channel"])
REFUSED = Counter("heard_representations_refused", "Messages Heard turned away, by channel and reason.", ["channel", "reason"])


def accepted(channel: str, how_many: int = 1) -> None:
    ACCEPTED.labels(channel).inc(how_many)


def refused(channel: str, reason: str) -> None:
    REFUSED.labels(channel, reason).inc()
