"""The hand-written corpus: valid against LABELS.md, big enough, balanced enough, no near-copies."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from triage.classifier.corpus import (
    CORPUS_DIR,
    FLAGS,
    KINDS,
    REASONS,
    ROLES,
    CorpusError,
    load_corpus,
    near_duplicates,
    parse_example,
)

STYLES = {"chat", "email", "summary", "letter"}


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus()


def test_every_line_follows_the_label_rules(corpus) -> None:  # type: ignore[no-untyped-def]
    # load_corpus has already checked each line; here the rules that need the whole example
    for e in corpus:
        assert e.id.startswith(f"{e.part}-"), f"{e.id}: id must be <part>-<number>"
        assert e.style in STYLES, f"{e.id}: style {e.style!r}"
        assert not (e.safeguarding and e.hard_negative), f"{e.id}: a disclosure cannot be a hard negative"
        if e.kind == "compliment":
            assert not e.reasons, f"{e.id}: a pure compliment has no reasons"
        else:
            assert e.reasons, f"{e.id}: a {e.kind} needs at least one reason"


def test_there_are_at_least_2000_examples(corpus) -> None:  # type: ignore[no-untyped-def]
    assert len(corpus) >= 2000, f"only {len(corpus)} examples"


@pytest.mark.parametrize("kind", KINDS)
def test_at_least_400_examples_of_each_kind(corpus, kind: str) -> None:  # type: ignore[no-untyped-def]
    n = sum(e.kind == kind for e in corpus)
    assert n >= 400, f"{kind}: {n}"


@pytest.mark.parametrize("reason", REASONS)
def test_at_least_80_examples_of_each_reason_code(corpus, reason: str) -> None:  # type: ignore[no-untyped-def]
    n = sum(reason in e.reasons for e in corpus)
    assert n >= 80, f"{reason}: {n}"


@pytest.mark.parametrize("role", ROLES)
def test_at_least_60_examples_of_each_role(corpus, role: str) -> None:  # type: ignore[no-untyped-def]
    n = sum(e.role == role for e in corpus)
    assert n >= 60, f"{role}: {n}"


def test_at_least_150_safeguarding_disclosures_and_150_hard_negatives(corpus) -> None:  # type: ignore[no-untyped-def]
    assert sum(e.safeguarding for e in corpus) >= 150
    assert sum(e.hard_negative for e in corpus) >= 150


def test_every_safeguarding_type_and_flag_is_represented(corpus) -> None:  # type: ignore[no-untyped-def]
    types = Counter(e.safeguarding_type for e in corpus if e.safeguarding)
    assert len(types) == 9, types
    flags = Counter(f for e in corpus for f in e.flags)
    assert all(flags[f] >= 20 for f in FLAGS), flags


def test_no_two_examples_share_more_than_70_percent_of_their_words(corpus) -> None:  # type: ignore[no-untyped-def]
    pairs = near_duplicates(corpus, threshold=0.7)
    assert not pairs, "near-duplicates (word-set Jaccard > 0.7): " + ", ".join(f"{a}~{b} {s:.2f}" for a, b, s in pairs[:20])


def test_near_duplicate_check_finds_a_copy_with_one_word_changed(corpus) -> None:  # type: ignore[no-untyped-def]
    original = corpus[0]
    words = original.text.split()
    copy = parse_example({**original.as_dict(), "id": "test-1", "text": " ".join(words[:-1] + ["zebra"])})
    assert any({a, b} == {original.id, "test-1"} for a, b, _ in near_duplicates([original, copy]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "grumble"}, "kind 'grumble'"),
        ({"reasons": ["delay"], "primary_reason": "finance"}, "primary_reason 'finance' must be one of reasons"),
        ({"reasons": ["lateness"]}, "unknown reason codes"),
        ({"safeguarding": True}, "safeguarding_type must be set"),
        ({"flags": ["urgent"]}, "unknown flags"),
        ({"text": "  "}, "text must be a non-empty string"),
    ],
)
def test_a_line_that_breaks_the_rules_is_refused_with_its_file_and_line(tmp_path, change, message) -> None:  # type: ignore[no-untyped-def]
    good = {"id": "t-1", "text": "nobody rang me back", "kind": "initial_feedback", "reasons": ["communication"],
            "primary_reason": "communication", "role": "care_leaver", "safeguarding": False, "safeguarding_type": None,
            "hard_negative": False, "flags": [], "style": "chat", "part": "t"}  # fmt: skip
    bad = {**good, "id": "t-2", **change}
    (tmp_path / "t.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CorpusError, match=rf"t\.jsonl:2: .*{message}"):
        load_corpus(tmp_path)


def test_the_corpus_directory_holds_the_label_rules_and_the_data_card() -> None:
    assert (CORPUS_DIR / "LABELS.md").exists()
    assert (CORPUS_DIR / "DATA_CARD.md").exists()
