"""The hand-written training corpus (triage/corpus/*.jsonl): loading, checking, near-duplicates.

LABELS.md is the rulebook for every field; `load_corpus` refuses a file that breaks it,
naming the file and line, so a writer's slip never trains silently into the model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from models.enums import Kind, Reason, Role

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
FLAGS = ("court_proceedings", "over_12_months", "on_behalf")
SAFEGUARDING_TYPES = (
    "abuse", "neglect", "sexual_exploitation", "criminal_exploitation", "self_harm",
    "domestic_violence", "missing", "locked_in_or_no_food", "threats",
)  # fmt: skip
KINDS = tuple(k.value for k in Kind)
REASONS = tuple(r.value for r in Reason)
ROLES = tuple(r.value for r in Role)


class CorpusError(ValueError):
    """A corpus line breaks LABELS.md."""


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    kind: str
    reasons: tuple[str, ...]
    primary_reason: str | None
    role: str
    safeguarding: bool
    safeguarding_type: str | None = None
    hard_negative: bool = False
    flags: tuple[str, ...] = ()
    style: str = "chat"
    part: str = ""

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["reasons"], d["flags"] = list(self.reasons), list(self.flags)
        return d


def load_corpus(directory: Path | None = None) -> list[Example]:
    """Every example of every `*.jsonl` file in the directory, in file then line order."""
    directory = directory or CORPUS_DIR
    examples: list[Example] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                example = parse_example(json.loads(line))
            except (ValueError, TypeError, KeyError) as exc:
                raise CorpusError(f"{where}: {exc}") from None
            if example.id in seen:
                raise CorpusError(f"{where}: duplicate id {example.id}")
            seen.add(example.id)
            examples.append(example)
    if not examples:
        raise CorpusError(f"no examples in {directory}")
    return examples


def load_test_set(path: Path) -> tuple[list[Example], list[str]]:
    """A labelled test set (the corpus's format plus an optional `group` per line, such as
    `teen_everyday` or `summary`): its examples and their groups. Checked like the corpus."""
    examples: list[Example] = []
    groups: list[str] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            examples.append(parse_example(raw))
        except (ValueError, TypeError, KeyError) as exc:
            raise CorpusError(f"{Path(path).name}:{number}: {exc}") from None
        groups.append(str(raw.get("group") or raw.get("kind")))
    if not examples:
        raise CorpusError(f"no examples in {path}")
    return examples, groups


def parse_example(raw: dict[str, object]) -> Example:
    """One checked example from a JSON object (raises ValueError naming the broken rule)."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    text, kind, role = raw["text"], raw["kind"], raw["role"]
    reasons = tuple(raw.get("reasons") or ())  # type: ignore[arg-type]
    primary = raw.get("primary_reason")
    flags = tuple(raw.get("flags") or ())  # type: ignore[arg-type]
    safeguarding = raw.get("safeguarding", False)
    sg_type = raw.get("safeguarding_type")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {KINDS}")
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    if bad := [r for r in reasons if r not in REASONS]:
        raise ValueError(f"unknown reason codes {bad}")
    if (primary is None) != (not reasons) or (primary is not None and primary not in reasons):
        raise ValueError(f"primary_reason {primary!r} must be one of reasons {list(reasons)} (null only when none)")
    if bad := [f for f in flags if f not in FLAGS]:
        raise ValueError(f"unknown flags {bad}")
    if not isinstance(safeguarding, bool) or (sg_type is not None) != safeguarding:
        raise ValueError("safeguarding_type must be set exactly when safeguarding is true")
    if sg_type is not None and sg_type not in SAFEGUARDING_TYPES:
        raise ValueError(f"unknown safeguarding_type {sg_type!r}")
    return Example(
        id=str(raw["id"]), text=text, kind=str(kind), reasons=reasons, primary_reason=primary,  # type: ignore[arg-type]
        role=str(role), safeguarding=safeguarding, safeguarding_type=sg_type,  # type: ignore[arg-type]
        hard_negative=bool(raw.get("hard_negative", False)), flags=flags,
        style=str(raw.get("style", "")), part=str(raw.get("part", "")),
    )  # fmt: skip


def corpus_digest(examples: Iterable[Example]) -> str:
    """SHA-256 of the examples and their labels: the model card says exactly what was trained on."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example.as_dict(), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


_WORDS = re.compile(r"\w+")


def word_set(text: str) -> frozenset[str]:
    """The set of lower-cased words of a text, as the near-duplicate rule counts them."""
    return frozenset(_WORDS.findall(text.lower().replace("\u2019", "'")))


def near_duplicates(examples: Sequence[Example], threshold: float = 0.7) -> list[tuple[str, str, float]]:
    """Pairs of examples whose word sets have Jaccard similarity above `threshold`, most similar first.

    All pairs are compared at once with a sparse product, so 2,000+ examples take well under a second."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, example in enumerate(examples):
        for word in word_set(example.text):
            rows.append(i)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(examples), len(vocabulary)))
    sizes = np.asarray(m.sum(axis=1)).ravel()
    overlap = sp.triu(m @ m.T, k=1).tocoo()
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    similarity = np.divide(overlap.data, union, out=np.zeros_like(overlap.data), where=union > 0)
    hits = np.flatnonzero(similarity > threshold)
    pairs = [(examples[overlap.row[k]].id, examples[overlap.col[k]].id, float(similarity[k])) for k in hits]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))
