"""The classifier as intake uses it: the shipped artefact, its rules, its persistence, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import sklearn
import skops.io as sio

from models.enums import Kind, Role
from triage.classifier import ArtefactError, Classification, Classifier, load_classifier
from triage.classifier.corpus import Example, load_corpus, near_duplicates
from triage.classifier.eligibility import flag_rules
from triage.classifier.persistence import (
    DEFAULT_ARTEFACT,
    METADATA_MEMBER,
    TRUSTED_TYPES,
    load_classifier_from,
    read_metadata,
    save_classifier,
)
from triage.classifier.models import disclosure_threshold, recall_threshold
from triage.classifier.safeguarding_rules import RULES, candidate_rules, find_signals, fold, literal_prefixes
from triage.classifier.safeguarding_rules import level as safeguarding_level
from triage.classifier.evaluation import EVALUATION_DATE
from triage.classifier.training import corrections_to_examples
from triage.cleaning import clean

ROOT = Path(__file__).resolve().parents[1]
JSON_FIELDS = ["kind", "kind_confidence", "reasons", "primary_reason", "role", "role_confidence",
               "safeguarding", "safeguarding_level", "safeguarding_signals", "needs_review", "flags"]  # fmt: skip


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return load_classifier()


# --- the public interface -------------------------------------------------------------


def test_the_shipped_artefact_loads_once_and_is_cached(clf: Classifier) -> None:
    assert load_classifier() is clf
    assert load_classifier(DEFAULT_ARTEFACT) is clf


def test_a_result_is_a_frozen_dataclass_with_the_json_fields_of_the_issue(clf: Classifier) -> None:
    result = clf.classify("Nobody has rung me back about my son's contact for three weeks.")
    assert isinstance(result, Classification)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.kind = Kind.compliment  # type: ignore[misc]
    data = result.as_dict()
    assert list(data) == JSON_FIELDS
    assert json.loads(json.dumps(data)) == data
    assert all(set(r) == {"code", "score"} for r in data["reasons"])


def test_a_compliment_is_a_compliment_without_reasons(clf: Classifier) -> None:
    result = clf.classify("I just want to say a massive thank you to Sam, my social worker. She always listens and she got my bike sorted.")
    assert result.kind is Kind.compliment
    assert result.reasons == () and result.primary_reason is None
    assert not result.safeguarding


def test_a_complaint_has_ranked_reasons_and_a_primary_among_them(clf: Classifier) -> None:
    result = clf.classify(
        "Dear complaints team, I am Mia's grandmother. Contact with her brother has been cancelled four times "
        "and nobody from the team has returned my calls. I want this treated as a formal complaint."
    )
    assert result.kind is Kind.complaint
    codes = [c for c, _ in result.reasons]
    scores = [s for _, s in result.reasons]
    assert scores == sorted(scores, reverse=True)
    assert result.primary_reason in codes
    assert "family_time" in codes
    assert result.role is Role.parent_or_family


def test_a_young_persons_chat_is_read_as_theirs(clf: Classifier) -> None:
    result = clf.classify("my sw said shed ring me tuesday and she didnt. can she ring me pls")
    assert result.role is Role.child_or_young_person
    assert "communication" in [c for c, _ in result.reasons]


def test_a_disclosure_is_flagged_with_the_signals_that_fired(clf: Classifier) -> None:
    result = clf.classify("pls help my step dad hits me with his belt when mum is at work and i dont want to go home")
    assert result.safeguarding
    assert "disclosure:hit_me" in result.safeguarding_signals or "disclosure:implement" in result.safeguarding_signals


def test_many_at_once_gives_the_same_as_one_at_a_time(clf: Classifier) -> None:
    texts = [e.text for e in load_corpus()[:40]] + ["", "thanks"]
    assert clf.classify_many(texts) == [clf.classify(t) for t in texts]


def test_low_confidence_never_suppresses_a_safeguarding_flag(clf: Classifier) -> None:
    doubtful = Classifier(clf.models, {**clf.meta, "review_threshold": 1.01})
    result = doubtful.classify("i keep cutting myself and i dont want to be here anymore")
    assert result.needs_review
    assert result.safeguarding
    assert "self_harm:hurting_myself" in result.safeguarding_signals


# --- what the issue saw on text the corpus never held ----------------------------------


@pytest.mark.parametrize("text", [
    "my pocket money has not been paid for two months",
    "I've had 4 different social workers this year",
    "Nobody rang me back about contact.",
    "and now I can't go and everyone else in my class is going",
])
def test_an_everyday_complaint_is_never_a_disclosure(clf: Classifier, text: str) -> None:
    result = clf.classify(text)
    assert result.kind is not Kind.compliment
    assert result.safeguarding_level != "disclosure", result.safeguarding_signals


def test_a_thank_you_that_tells_of_a_hard_time_is_a_compliment(clf: Classifier) -> None:
    result = clf.classify(
        "It has been a very challenging time with it all being new to us, and we didn't know what to expect "
        "from social services. Theresa has been so supportive, always calm and always there when we rang. Thank you."
    )
    assert result.kind is Kind.compliment and not result.safeguarding


def test_a_promise_never_kept_is_a_complaint_not_thanks(clf: Classifier) -> None:
    result = clf.classify("I was promised a laptop for college and never got it")
    assert result.kind is not Kind.compliment


def test_an_officers_summary_gets_its_main_reason(clf: Classifier) -> None:
    result = clf.classify("A complaint from a care leaver about his savings, which he says were never paid into his "
                          "account when he turned 18. He wants the money and an explanation.")
    assert result.primary_reason == "finance"
    assert "confidentiality_records" not in [c for c, _ in result.reasons]


def test_a_main_reason_no_threshold_chose_is_still_the_primary_and_listed() -> None:
    """Officers' summaries often name their main reason less plainly than the rest: on summaries
    it never saw, the classifier names as primary the best of all the codes (the primary head
    and the reasons' scores weighed together, the weights fitted out of fold), and lists it
    beside the reasons that cleared their thresholds even when it did not clear its own."""
    from triage.classifier.training import fit_classifier

    examples = load_corpus()
    clf = fit_classifier([e for i, e in enumerate(examples) if i % 3])
    margin, reason = clf.models.primary_mix
    assert margin > 0 and reason > 0
    texts = [e.text for i, e in enumerate(examples) if not i % 3 and e.style == "summary"]
    results = clf.classify_many(texts)
    x = clf.models.features.transform([clean(t) for t in texts])
    best = np.array(clf.models.primary.labels)[clf.models.primary.decision(x).argmax(axis=1)]
    threshold = dict(zip(clf.models.reasons.labels, clf.models.reasons.thresholds))
    complaints = [(r, b) for r, b in zip(results, best) if r.kind is not Kind.compliment]
    assert all(r.primary_reason == b and r.primary_reason in dict(r.reasons) for r, b in complaints)
    added = [r for r, _ in complaints if dict(r.reasons)[r.primary_reason] < threshold[r.primary_reason]
             and any(score >= threshold[code] for code, score in r.reasons)]  # fmt: skip
    assert added


@pytest.mark.parametrize("text", ["hello", "thanks", "👍", "😡😡😡", "?"])
def test_one_word_or_emoji_alone_goes_to_review(clf: Classifier, text: str) -> None:
    assert clf.classify(text).needs_review


def test_explicit_words_of_harm_are_a_disclosure_and_a_guess_is_only_possible(clf: Classifier) -> None:
    disclosure = clf.classify("my stepdad hit me last night and i dont want to go home")
    assert disclosure.safeguarding_level == "disclosure" and disclosure.safeguarding
    assert "disclosure:hit_me" in disclosure.safeguarding_signals
    # a rule that is common in complaints about the past speaks only with the model's agreement
    past = clf.classify("Dear team, I want to complain that the minutes of last March's meeting say the police came "
                        "to our house, which is wrong. Please correct the record.")
    assert past.safeguarding_level != "disclosure"


def test_the_level_follows_the_thresholds_in_the_artefact(clf: Classifier) -> None:
    text = "i dont like it at my placement and i want to move"
    score = clf.models.safeguarding.scores(clf.models.features.transform([text]).tocsr())[0, 0]
    assert clf.classify(text).safeguarding_level is None
    below = dataclasses.replace(clf.models, disclosure_threshold=1.0)
    low_possible = dataclasses.replace(below, safeguarding=dataclasses.replace(
        clf.models.safeguarding, thresholds=clf.models.safeguarding.thresholds * 0 + float(score) - 1e-6))
    above = dataclasses.replace(low_possible, disclosure_threshold=float(score) - 1e-6)
    assert Classifier(above, clf.meta).classify(text).safeguarding_level == "disclosure"
    assert Classifier(low_possible, clf.meta).classify(text).safeguarding_level == "possible"
    assert Classifier(low_possible, clf.meta).classify(text).safeguarding_signals == (f"model:{score:.2f}",)


def test_corroborated_rules_of_two_kinds_of_harm_corroborate_each_other() -> None:
    # alone, each is only `possible` when the model does not agree; together, a disclosure
    assert safeguarding_level(["missing:gone_missing"], 0.0, 0.3, 0.9) == "possible"
    assert safeguarding_level(["missing:gone_missing", "missing:nowhere_tonight"], 0.0, 0.3, 0.9) == "possible"
    assert safeguarding_level(["missing:gone_missing", "injury:marks"], 0.0, 0.3, 0.9) == "disclosure"
    assert safeguarding_level([], 0.5, 0.3, 0.9) == "possible"
    assert safeguarding_level([], 0.95, 0.3, 0.9) == "disclosure"
    assert safeguarding_level([], 0.1, 0.3, 0.9) is None


def test_the_model_vetoes_a_rule_only_when_all_but_sure_the_message_is_ordinary() -> None:
    # a rule that speaks alone: `disclosure` unless the model's score is under the veto
    assert safeguarding_level(["disclosure:hit_me"], 0.005, 0.3, 0.9, 0.013) == "possible"
    assert safeguarding_level(["disclosure:hit_me"], 0.02, 0.3, 0.9, 0.013) == "disclosure"
    assert safeguarding_level(["missing:gone_missing", "injury:marks"], 0.005, 0.3, 0.9, 0.013) == "possible"
    assert safeguarding_level(["disclosure:hit_me"], 0.005, 0.3, 0.9) == "disclosure"  # no veto: the rules alone
    assert safeguarding_level([], 0.005, 0.3, 0.9, 0.013) is None


@pytest.mark.parametrize(("text", "level"), [
    # a phrase rule fires ("hit her"), but the model, reading the whole letter, is all but sure it
    # is a records complaint: officers still see it, the parent gets no crisis reply
    ("Dear Sir or Madam, In June our foster daughter told her teacher that we had hit her. The LADO investigated and found it "
     "unfounded, and she has since told her social worker she made it up because she was cross about her phone being taken. "
     "My complaint is that the new worker's report still lists it as a current concern and nobody has corrected it.", "possible"),
    # the year that opens the sentence tells the rules the harm is over: no flag at all
    ("I am writing about the assessment of my family. In 2022 my son told his school that his dad hit him. His dad moved out, "
     "there was a court case, and the file was closed after a year of help. The new social worker has written the whole thing "
     "up again as if it is happening now, and it has upset my son badly. Please correct the record.", None),
])
def test_a_parent_complaining_about_an_old_allegation_is_not_told_to_call_999(clf: Classifier, text: str, level: str | None) -> None:
    result = clf.classify(text)
    assert result.safeguarding_level == level, result.safeguarding_signals
    if level == "possible":
        assert "disclosure:hit_me" in result.safeguarding_signals


@pytest.mark.parametrize("text", ["my foster dad hit me last night and i dont want to go back there",
                                  "he hit me again when i got home from school and i have a mark on my arm"])
def test_the_same_rule_in_a_child_telling_of_harm_now_is_still_a_disclosure(clf: Classifier, text: str) -> None:
    assert clf.classify(text).safeguarding_level == "disclosure"


@pytest.mark.parametrize(("text", "fires"), [
    ("asked for my pocket money and he backhanded me across the mouth", True),
    ("my foster dad backhands my little brother when he cries", True),
    ("i have a great backhand, coach wants me in the tennis tournament", False),
])
def test_a_backhander_is_a_blow_and_a_tennis_backhand_is_not(text: str, fires: bool) -> None:
    """From `emo.jsonl`: a blow told in passing in a pocket-money complaint, missed out of fold."""
    assert ("disclosure:hit_me" in find_signals(clean(text))) is fires


def test_the_veto_moves_no_more_than_its_share_of_disclosures_out_of_fold() -> None:
    """200 disclosures the rules catch, 5 of which the model scores very low out of fold: the
    veto may move at most 1% of them (2), so it stops under the third lowest score."""
    from triage.classifier.models import RULE_VETO_CAP, veto_threshold

    truth = np.array([True] * 200 + [False] * 300)
    oof = np.concatenate([[0.004, 0.006, 0.02, 0.03, 0.05], np.full(195, 0.9), np.full(300, 0.001)])
    signals = [["disclosure:hit_me"]] * 200 + [["disclosure:hit_me"]] * 100 + [[]] * 200
    v = veto_threshold(oof, truth, signals)
    assert 0.006 < v <= 0.02
    moved = sum(safeguarding_level(signals[i], oof[i], 0.3, 0.9, v) != "disclosure" for i in range(200))
    assert moved == 2
    assert all(safeguarding_level(signals[i], oof[i], 0.3, 0.9, v) == "possible" for i in range(200, 300))
    assert veto_threshold(np.full(500, 0.0), truth, signals) == 0.0  # the model never speaks up: no veto
    assert veto_threshold(np.full(500, 0.9), truth, signals) == RULE_VETO_CAP


def test_the_disclosure_threshold_keeps_the_whole_level_within_its_budget() -> None:
    """Out of fold: 40 disclosures scoring 0.6–0.99, and 1,000 ordinary complaints of which the
    rules already put 10 at the `disclosure` level; the model may add at most 8 more (1.8%)."""
    rng = np.random.default_rng(0)
    truth = np.array([True] * 40 + [False] * 1000)
    oof = np.concatenate([rng.uniform(0.6, 0.99, 40), rng.uniform(0.0, 0.5, 1000)])
    oof[40:60] = np.linspace(0.55, 0.74, 20)  # ordinary complaints that score like disclosures
    signals = [[] for _ in truth]
    for i in range(100, 110):
        signals[i] = ["disclosure:hit_me"]  # a rule that speaks alone, wrongly
    ordinary = ~truth
    possible_at = recall_threshold(oof, truth)

    def fits(t: float) -> bool:
        alarms = sum(safeguarding_level(signals[i], oof[i], possible_at, t) == "disclosure" for i in np.flatnonzero(ordinary))
        return alarms <= 18 and truth[oof >= t].mean() >= 0.95

    t = disclosure_threshold(oof, truth, signals, ordinary)
    assert 0.55 < t < 0.99 and fits(t)
    assert not fits(t - 0.01)  # the lowest that fits: the model speaks wherever it may
    # rules that already spend the budget leave the model no room to speak alone
    for i in range(200, 230):
        signals[i] = ["disclosure:hit_me"]
    assert disclosure_threshold(oof, truth, signals, ordinary) == 1.0


# --- bad input: always a valid result, never a crash ---------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "\x00\x01\x02", "!!!???", "\u200b\u200b", "😡😡😡"],
    ids=["empty", "whitespace", "control", "punctuation", "zero-width", "emoji"],
)
def test_nothing_readable_goes_to_review_with_no_guess(clf: Classifier, text: str) -> None:
    result = clf.classify(text)
    assert result.needs_review
    assert result.kind_confidence == 0.0 and result.reasons == () and not result.safeguarding


@pytest.mark.parametrize(
    "text",
    [
        "Mi trabajadora social no me devuelve las llamadas desde hace un mes.",
        "لم يتصل بي أحد منذ ثلاثة أسابيع بخصوص ابني",
        "我的社工已经三个星期没有给我回电话了",
        "Мне никто не перезвонил",
        bytes(range(256)).decode("latin-1") * 40,
        "<html><script>alert(1)</script><p>nobody <b>listens</b></p></html>",
        "a" * 100_000,
    ],
    ids=["spanish", "arabic", "chinese", "russian", "binary", "html", "one-long-word"],
)
def test_any_script_or_junk_gives_a_valid_result(clf: Classifier, text: str) -> None:
    result = clf.classify(text)
    assert isinstance(result.kind, Kind) and isinstance(result.role, Role)
    assert 0.0 <= result.kind_confidence <= 1.0
    json.dumps(result.as_dict())


@pytest.mark.parametrize(
    "text",
    [
        "Mi trabajadora social no me devuelve las llamadas desde hace un mes.",
        "Moja pracownica socjalna nie oddzwania od miesiąca, to skandal",
        "我的社工已经三个星期没有给我回电话了",
    ],
)
def test_a_message_the_model_cannot_read_goes_to_review(clf: Classifier, text: str) -> None:
    assert clf.classify(text).needs_review


def test_a_message_with_unusual_names_is_still_read(clf: Classifier) -> None:
    assert not clf.classify("Thank you so much to Keziah Okonkwo-Baptiste, the best social worker ever").needs_review


def test_a_megabyte_of_text_is_classified_quickly(clf: Classifier) -> None:
    text = ("Nobody has rung me back about contact with my brother. " * 20_000)[:1_000_000]
    start = time.perf_counter()
    result = clf.classify(text)
    assert time.perf_counter() - start < 5
    assert result.kind in (Kind.complaint, Kind.initial_feedback)


def test_something_that_is_not_a_string_is_treated_as_empty(clf: Classifier) -> None:
    assert clf.classify_many([None, 42])[0].needs_review  # type: ignore[list-item]


# --- the safeguarding rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("my mums boyfriend punches me when hes drunk", "disclosure:hit_me"),
        ("She slapped my little sister across the face yesterday", "disclosure:hit_me"),
        ("i dont want to be here anymore", "self_harm:dont_want_to_be_here"),
        ("ive started cutting myself again", "self_harm:hurting_myself"),
        ("they lock me in my room at night", "locked:locked_in"),
        ("theres no food in the house and mum hasnt been back since friday", "neglect:no_food"),
        ("he said if i tell anyone hell hurt my mum", "threats:will_hurt"),
        ("I've run away from my placement and I'm staying at a mans flat", "missing:gone_missing"),
        ("some older men at the park give us vodka", "sexual:older_men"),
        ("the lads make me carry stuff for them after school", "exploitation:county_lines"),
        ("dad strangled mum on the landing", "domestic:hurts_mum"),
    ],
)
def test_rules_fire_on_disclosures(text: str, signal: str) -> None:
    assert signal in find_signals(text)


@pytest.mark.parametrize(
    "text",
    [
        "this delay is literally killing me, 6 weeks for a passport form??",
        "lol i could kill my brother he ate all the crisps",
        "my mum will murder me if im late for tea again",
        "my foster mum is gonna kill me when she sees my report lol",
        "im dead 💀 my social worker turned up at school",
        "I used to self harm but I've been clean for two years now and I'm proud of that.",
        "my PE kit has gone missing from the home again",
        "we did a lesson about county lines at school today, so cringe",
        "my foster carer would never hit me, she's lovely",
        "I haven't self harmed in over a year.",
        "My birth certificate went missing when I moved placements.",
    ],
)
def test_rules_keep_quiet_for_idiom_negation_the_past_and_things(text: str) -> None:
    assert find_signals(text) == []


@pytest.mark.parametrize(
    ("disclosure", "everyday"),
    [
        ("is it normal for my mum to lock the fridge and cupboards, we only get toast",
         "the school locks the lockers at 4 so i cant get my PE kit"),
        ("ive been planning how id do it and looked up the bridge",
         "I've been planning how I'd do my revision but my laptop never came"),
        # trained on sgy.jsonl, the model alone scored this look-alike 0.86, a crisis reply over a
        # sibling's nightmares: why sgy.jsonl gave its rules but waits in next/ (see its README)
        ("my uncle keeps coming in my room at night when he stays over and he gets in the bed",
         "my little brother gets in my bed when he has nightmares and my carer says it's fine"),
        ("when I said I wanted to go home my carer put me out in the garden for 2 hrs in the rain",
         "the contact centre made us wait outside in the rain for 20 minutes before it opened"),
        ("two staff held him face-down and one knelt on his back, he couldn't breathe",
         "staff held the door for him when he came back from college, which was nice"),
        ("I keep burning myself with the lighter when things get loud at home",
         "I burnt myself on the oven because the kitchen in the flat is so tiny"),
        ("he says it's a game and it's our secret. he takes pictures. i'm 9",
         "our secret santa at the home was rubbish this year, nobody got me anything"),
        ("my girl is 15, she went out friday night and hasnt come back, her phone is off",
         "the social worker hasnt come back to me about the contact dates"),
        ("he told my son if his dad comes round again he'll put you both in the ground",
         "they've taken him abroad on holiday without asking me first"),
        ("he has to go out country for the olders and someone gave him a hiding last week",
         "I was told off for being short with staff at the council offices"),
    ],
)
def test_disclosures_told_in_passing_speak_and_their_everyday_look_alikes_do_not(
    clf: Classifier, disclosure: str, everyday: str
) -> None:
    """Hedged disclosures (sgy.jsonl's registers) reach the `disclosure` level by a rule; the
    everyday sentence with the same words is not flagged, or at most `possible`."""
    told = clf.classify(disclosure)
    assert told.safeguarding_level == "disclosure", told.safeguarding_signals
    assert any(not s.startswith("model:") for s in told.safeguarding_signals), told.safeguarding_signals
    assert safeguarding_level(find_signals(everyday), 0.0, 1.0, 1.0) != "disclosure", find_signals(everyday)
    ordinary = clf.classify(everyday)
    assert ordinary.safeguarding_level != "disclosure", ordinary.safeguarding_signals
    assert not any(s.startswith(("sexual:", "self_harm:", "threats:")) for s in ordinary.safeguarding_signals)


@pytest.mark.parametrize(
    ("disclosure", "everyday"),
    [
        # a laugh, then "but": the joke is over before the disclosure starts
        ("just to say im fine lol but my mum hasnt come home since saturday. im 14",
         "lol my mum hasnt come home from bingo yet so im having chips"),
        # "not gonna lie" means "honestly", not a negation
        ("not gonna lie i took like 20 of my mums sleeping tablets an hour ago and now im scared",
         "not gonna lie i took my tablets late because the carer forgot to remind me"),
        # a negation does not reach across "so" into the next clause
        ("u lot never listened so i ran off. im at some lads flat in another town and im not allowed out",
         "u lot never listened so i rang the complaints line instead"),
        ("someone keeps messaging me saying they know where my placement is and theyre coming to finish me",
         "my social worker is coming to finish the forms with me on friday"),
    ],
)
def test_a_turn_of_the_sentence_ends_a_joke_or_a_negation(clf: Classifier, disclosure: str, everyday: str) -> None:
    """Teenagers laugh or say "not gonna lie" before what matters; the rules read past it."""
    told = clf.classify(disclosure)
    assert told.safeguarding_level == "disclosure", told.safeguarding_signals
    assert any(not s.startswith("model:") for s in told.safeguarding_signals), told.safeguarding_signals
    assert find_signals(everyday) == [], find_signals(everyday)


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("the boy was beaten up last week for losing a package", "disclosure:got_hit"),
        ("he is being made to cut and bag drugs at an address near his flat", "exploitation:running"),
        ("theyve stopped giving me breakfast and tea as a consequence, this is day 3", "locked:locked_in"),
        ("she told me she is being passed round by a man she calls her boyfriend", "sexual:older_men"),
        # found in the corpus's disclosures that no rule caught
        ("my sister rang me from a phone box saying shes run away from her carers", "missing:gone_missing"),
        ("my foster carer keeps leaving me and my foster brother on our own til 10pm", "neglect:left_alone"),
        ("i have type 1 diabetes and the staff keep not buying my insulin on time", "neglect:medical"),
        ("it was MY money that went missing and the manager called me a liar", None),
        # found in a fourth writer's 150 disclosures and 100 look-alikes (sgz.jsonl)
        ("is it normal for ur carer to pull ur hair when ur being cheeky", "disclosure:hit_me"),
        ("the foster carer is pulling her hair out over the uniform grant form", None),
        ("today 3 of them sat on me in the corridor and i couldnt breathe", "disclosure:acts"),
        ("my teeth are black and my carer says dentists cost too much", "neglect:medical"),
        ("unaliving myself is looking like the only option ngl", "self_harm:dont_want_to_be_here"),
        ("i keep doing the thing again with the blade from my sharpener", "self_harm:told_through_acts"),
        ("some teenagers are getting him to steal phones at the station", "exploitation:running"),
        ("he keeps saying you know what happens to snitches when i walk past", "threats:told_through_acts"),
        ("ive been self harm free for 14 months now", None),
        ("our girl went missing for two hours on saturday and came back safely", None),
        ("they confiscated my knife and said i can have it back when hes 18", None),
        ("why does the sw keep asking if anyone hurts me at home", None),
        ("i know where you are coming from but the form is late", None),
        ("my sister got a black eye from the swing at the park on sunday", None),
        ("why was my daughter's old self-harm mentioned in the referral to her football club", None),
        ("she has bruises on her arms and wont say where from", "injury:marks"),
        # a fifth writer's (sgw.jsonl)
        ("is it normal for a carer to slap you round the head when you answer back", "disclosure:hit_me"),
        ("a girl of about 7 has been going through the communal bins for food", "neglect:no_food"),
        ("they wont let me out of the house at all and the windows are screwed shut", "locked:locked_in"),
        ("he tells me to take my top off and takes photos, he says its for art", "sexual:images"),
        ("a lad in my year said hes bringing his older brothers gun to school monday", "threats:weapon"),
        ("i got hit by a football in PE and my carer made a massive deal of it", None),
        ("the social worker gave my address to my ex despite the non-molestation order", None),
        ("why does my care plan say im aggressive, it follows me everywhere", None),
        ("the new house rules are a joke. no food in bedrooms, no mates round on school nights", None),
        ("im so done with being passed around, 6 PAs in 3 years", None),
        ("their mother went through a very bad patch with her drinking last winter and has been sober since", None),
        # the kinds of false alarm blind set 3 showed
        ("i'd kill myself laughing if they made me do the cooking course again", None),
        ("i want to kill myself, nobody would even notice", "self_harm:dont_want_to_be_here"),
        ("the way she talks to me at reviews is humiliating", None),
        ("she humiliates me in front of the other kids every tea time", "abuse:cruel_words"),
        ("got a black eye sparring at the gym last night, it's fine", None),
        ("i get punched loads at boxing, that's the whole point of boxing", None),
        ("i get hit when i come in late and i have to hide it", "disclosure:got_hit"),
        ("staff said no food was allowed in the visit room", None),
        ("her ex has been gone since 2021 and she is with someone kind now", None),
        ("my brother has been gone since friday and nobody is looking for him", "missing:nowhere_tonight"),
        ("we went away in August and the holiday allowance still has not come", None),
        ("she went away with a man from the shop and her phone is off", "missing:gone_missing"),
        ("our son was abused before he came to live with us; this is about his school transport", None),
        ("my little brother wakes up screaming from nightmares most nights", None),
        ("mums boyfriend was screaming at her and throwing stuff last night", "domestic:violence_at_home"),
        # and the corpus's own out-of-fold false alarms: a likeness, the writer's own knock
        ("moving me again feels like someone punched me in the stomach", None),
        ("my face looks like ive been attacked by wasps, its an allergy", None),
        ("i smacked my head on the bus window and it still aches", None),
        ("he smacked my head on the table when i wouldnt eat", "disclosure:hit_me"),
        # the kinds of miss and false alarm blind set 4 showed
        ("Nan rang: her son-in-law assaulted her daughter last night while the kids watched", "domestic:hurts_mum"),
        ("the records still hold an allegation that he hit his son, which police closed", None),
        ("the baby's lips went a bit blue in the night and the flat has no heating", "neglect:medical"),
        ("the minibus escort strokes her leg on the way to school and tells her to keep quiet", "sexual:touching"),
        ("I fled him in the spring and now my new address has been sent to his solicitor", "domestic:violence_at_home"),
        ("we watched a film at my cousins about a boy locked in a cellar and now i cant sleep over there", None),
        ("my carer says i'll grow out of being vegan", None),
        ("my carer says i'll grow out of it", None),
        ("my carer was completely out of it again when i got home", "neglect:carer_incapable"),
        ("her dad said hed kill her if she told anyone", "threats:will_hurt"),
        ("Two years ago she ran off after a row and was missing overnight; this is about her school place", None),
        ("Last year he started hitting me and it has never stopped", "disclosure:hit_me"),
        # the corpus's out-of-fold misses and false alarms once the first three blind sets were trained on
        ("i keep burning my wrist with a lighter so i can feel something", "self_harm:hurting_myself"),
        ("bad stuff happened near there when i was little, i dont want to go back to that area", None),
        ("i dont want to go back there, my stepdad is home all day now", "disclosure:scared_to_go_home"),
        ("the new worker told us to lock up the paracetamol though he has not self-harmed since 2021", None),
        ("the gp says its hay fever and gave me tablets that make me sleepy", None),
    ],
)
def test_rules_read_what_they_misread_before(text: str, signal: str | None) -> None:
    """Faults found by reading blind sets 1, 3 and 4 (each a development set since; the first
    three are now trained on), the corpus's out-of-fold misses and false alarms, and other
    writers' wordings (sgz.jsonl, sgw.jsonl)."""
    found = find_signals(text)
    assert (signal in found) if signal else found == [], found


def test_talk_of_killing_oneself_is_self_harm_not_a_threat() -> None:
    found = find_signals("my little cousin said hed kill himself if he had to do swimming lessons")
    assert "self_harm:dont_want_to_be_here" in found and "threats:will_hurt" not in found, found


def test_if_i_dont_is_a_condition_not_a_negation() -> None:
    assert "threats:will_hurt" in find_signals("i have to go to contact because if i dont behave hes gonna kill mum")
    assert find_signals("he would never hurt my mum, he's not like that") == []


def test_an_adult_writing_about_their_own_money_trouble_is_not_a_child_at_risk() -> None:
    assert find_signals("Im 21 and theres no food in the flat cos my leaving care payment is late") == []
    assert find_signals("theres no food in the flat and my little brother is hungry") != []


def test_the_word_gate_never_hides_a_match_the_rule_would_find() -> None:
    """Every rule tried on every text must agree with the gated search, on the whole corpus."""
    for example in load_corpus():
        gated = find_signals(example.text, today=date(2026, 11, 23))
        assert gated == find_signals(example.text, today=date(2026, 11, 23), every_rule=True), example.id


def test_a_text_holding_any_literal_prefix_of_a_rule_makes_it_a_candidate() -> None:
    """The key-word gate is sound by construction, not only on the corpus: every string a
    match can start with brings its rule in, wherever it stands and whatever surrounds it."""
    for index, rule in enumerate(RULES):
        for prefix in literal_prefixes(rule.pattern.pattern) or ():
            for text in (prefix, f"well, {prefix}", f"ok.\n{prefix}!!"):
                assert index in candidate_rules(fold(text)), (rule.signal, text)


def test_every_rule_match_starts_with_one_of_its_literal_prefixes() -> None:
    for rule in RULES:
        prefixes = literal_prefixes(rule.pattern.pattern)
        assert prefixes, rule.signal
        for example in load_corpus()[:600]:
            for match in rule.pattern.finditer(fold(example.text)):
                assert any(match.group().startswith(p) for p in prefixes), (rule.signal, match.group())


# --- eligibility flags -----------------------------------------------------------------


def test_flag_rules_read_court_time_and_behalf() -> None:
    assert "court_proceedings" in flag_rules("The final hearing in the care proceedings is next month.")
    assert "on_behalf" in flag_rules("I am writing on behalf of my constituent, Mrs Khan.")
    assert "over_12_months" in flag_rules("This happened in 2019 when I was in foster care.", today=date(2026, 11, 23))
    assert "over_12_months" not in flag_rules("This happened in 2026.", today=date(2026, 11, 23))


def test_a_councillor_writing_for_a_resident_is_flagged_on_behalf(clf: Classifier) -> None:
    result = clf.classify(
        "Dear Sir, I am writing on behalf of a resident in my ward, whose grandson's social worker "
        "has not returned her calls for a month. Cllr Patel"
    )
    assert "on_behalf" in result.flags


# --- persistence -----------------------------------------------------------------------


def test_the_artefact_is_skops_with_the_scikit_learn_version_recorded() -> None:
    meta = read_metadata(DEFAULT_ARTEFACT)
    assert meta["sklearn_version"] == sklearn.__version__
    assert DEFAULT_ARTEFACT.stat().st_size < 25_000_000
    assert set(sio.get_untrusted_types(file=DEFAULT_ARTEFACT)) <= set(TRUSTED_TYPES)


def test_the_shipped_artefact_was_trained_on_the_corpus_as_it_is() -> None:
    from triage.classifier.corpus import corpus_digest

    meta = read_metadata(DEFAULT_ARTEFACT)
    assert meta["corpus_sha256"] == corpus_digest(load_corpus()), "the corpus changed: run `heard train`"


def test_save_and_load_give_the_same_answers(clf: Classifier, tmp_path: Path) -> None:
    path = tmp_path / "copy.skops"
    save_classifier(clf, path)
    copy = load_classifier_from(path)
    texts = [e.text for e in load_corpus()[:30]]
    assert copy.classify_many(texts) == clf.classify_many(texts)


def test_another_scikit_learn_version_is_refused_with_both_versions_named(tmp_path: Path) -> None:
    path = tmp_path / "old.skops"
    _rewrite_metadata(DEFAULT_ARTEFACT, path, sklearn_version="0.24.2")
    with pytest.raises(ArtefactError) as caught:
        load_classifier_from(path)
    message = str(caught.value)
    assert "0.24.2" in message and sklearn.__version__ in message and "heard train" in message


def test_a_type_off_the_allow_list_is_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "evil.skops"
    sio.dump({"meta": "{}", "sneaky": FunctionTransformer(func=print)}, path)
    meta = {**read_metadata(DEFAULT_ARTEFACT)}
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(METADATA_MEMBER, json.dumps(meta))
    with pytest.raises(ArtefactError, match="not on the allow-list"):
        load_classifier_from(path)


def test_a_missing_or_damaged_artefact_says_to_run_heard_train(tmp_path: Path) -> None:
    with pytest.raises(ArtefactError, match="heard train"):
        load_classifier_from(tmp_path / "nothing.skops")
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(ArtefactError, match="heard train"):
        load_classifier_from(tmp_path / "junk.skops")


def test_no_pickle_or_joblib_loading_anywhere_in_the_classifier() -> None:
    for path in (ROOT / "triage" / "classifier").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(import pickle|from pickle|import cloudpickle)", source, re.M), path
        assert "joblib.load" not in source, path
        assert not re.search(r"load\([^)]*trusted=True", source), path


def _rewrite_metadata(source: Path, target: Path, **changes: str) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == METADATA_MEMBER:
                data = json.dumps({**json.loads(data), **changes}).encode()
            new.writestr(item, data)


# --- officers' corrections --------------------------------------------------------------


def test_corrections_override_the_model_field_by_field(clf: Classifier) -> None:
    text = "Nobody rang me back about my daughter's review."
    rows = [
        {"text": text, "field": "kind", "corrected": "complaint"},
        {"text": text, "field": "role", "corrected": "parent_or_family"},
        {"text": text, "field": "reasons", "corrected": ["communication", "delay"]},
        {"text": text, "field": "primary_reason", "corrected": "delay"},
        {"text": text, "field": "role", "corrected": "astronaut"},
    ]
    examples, skipped = corrections_to_examples(rows, clf)
    assert skipped == 1 and len(examples) == 1
    e = examples[0]
    assert (e.kind, e.role, e.reasons, e.primary_reason) == ("complaint", "parent_or_family", ("communication", "delay"), "delay")


# --- the shipped metrics ----------------------------------------------------------------


def test_held_out_safeguarding_recall_is_one_and_the_false_positive_rate_is_reported() -> None:
    metrics = json.loads((DEFAULT_ARTEFACT.parent / "metrics.json").read_text())
    held = metrics["held_out"]["safeguarding"]
    assert held["recall"] == 1.0, held["missed"]
    assert 0.0 <= held["false_positive_rate"] < 0.25
    assert {"kind_macro_f1", "reason_micro_f1", "role_accuracy", "safeguarding_recall"} <= set(metrics["summary"]["cross_validation"])


def test_the_shipped_metrics_report_the_blind_set_beside_cross_validation() -> None:
    metrics = json.loads((DEFAULT_ARTEFACT.parent / "metrics.json").read_text())
    blind = metrics["blind_set_5"]
    assert blind["file"] == "blind_set_5.jsonl" and blind["examples"] >= 300
    assert blind["safeguarding"]["disclosures"] >= 60
    assert {"teen_everyday", "disclosure", "summary"} <= set(blind["groups"])
    assert blind["safeguarding"]["recall"] == 1.0, blind["safeguarding"]["missed"]
    card = (ROOT / "triage" / "MODEL_CARD.md").read_text()
    assert "blind" in card.lower()


@pytest.mark.parametrize("key", ["blind_set_4", "blind_set_5"])
def test_the_shipped_metrics_report_the_later_blind_sets_too(key: str) -> None:
    from triage.classifier.model_card import BLIND_SETS

    metrics = json.loads((DEFAULT_ARTEFACT.parent / "metrics.json").read_text())
    blind = metrics[key]
    assert blind["file"] == f"{key}.jsonl" and blind["examples"] >= 300
    assert blind["safeguarding"]["disclosures"] >= 60
    assert blind["safeguarding"]["recall"] == 1.0, blind["safeguarding"]["missed"]
    card = (ROOT / "triage" / "MODEL_CARD.md").read_text()
    assert BLIND_SETS[key][0] in card and f"{key}.jsonl" in card


@pytest.mark.parametrize("name", ["blind_set_4.jsonl", "blind_set_5.jsonl"])
def test_the_blind_sets_are_never_trained_on(name: str) -> None:
    """Not a text of them in the corpus, nor one sharing more than half its words with a corpus text."""
    blind = [json.loads(line)["text"] for line in (ROOT / "tests" / "data" / name).read_text().splitlines() if line]
    corpus = load_corpus()
    assert not set(blind) & {e.text for e in corpus}
    probes = [Example(id=f"probe-{i}", text=t, kind="complaint", reasons=("delay",), primary_reason="delay", role="other",
                      safeguarding=False, part="probe") for i, t in enumerate(blind)]  # fmt: skip
    close = [(a, b) for a, b, _ in near_duplicates([*corpus, *probes], threshold=0.5) if a.startswith("probe-") != b.startswith("probe-")]
    assert not close, close[:5]


@pytest.mark.slow
def test_training_twice_gives_identical_metrics(tmp_path: Path) -> None:
    from triage.classifier.training import train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    examples = load_corpus()
    subset = examples[::4]
    (corpus / "part.jsonl").write_text("\n".join(json.dumps(e.as_dict()) for e in subset) + "\n")
    runs = []
    for n in (1, 2):
        out = tmp_path / f"run{n}" / "a.skops"
        train(corpus_dir=corpus, output=out, k=3, n_jobs=1, model_card=tmp_path / f"card{n}.md")
        runs.append((out.parent / "metrics.json").read_text())
    assert runs[0] == runs[1]
    assert (tmp_path / "card1.md").read_text() == (tmp_path / "card2.md").read_text()


CORPUS_NEXT = Path(__file__).resolve().parents[1] / "triage" / "corpus" / "next"


def test_the_rules_alone_reach_disclosure_on_the_hedged_disclosures_they_were_written_from() -> None:
    """triage/corpus/next/sgy.jsonl: 200 disclosures told in passing or through what happens, the
    text the newest rules were written from (86 reached `disclosure` before them, 189 after)."""
    rows = [json.loads(line) for line in (CORPUS_NEXT / "sgy.jsonl").read_text(encoding="utf-8").splitlines() if line]
    spoken = sum(safeguarding_level(find_signals(clean(r["text"]), today=EVALUATION_DATE), 0.0, 1.0, 1.0) == "disclosure"
                 for r in rows if r["safeguarding"])
    assert spoken >= 185, spoken


def test_the_rules_speak_on_the_fourth_writers_disclosures_and_keep_quiet_on_their_look_alikes() -> None:
    """triage/corpus/sgz.jsonl: 150 disclosures and 100 ordinary look-alikes by a writer who
    never saw the rules. The rules alone put 56 of the disclosures at `disclosure` before they
    were read and 78 after (the model corroborates most of the rest), and 4 look-alikes before, 2 after."""
    rows = [json.loads(line) for line in (CORPUS_NEXT.parent / "sgz.jsonl").read_text(encoding="utf-8").splitlines() if line]
    spoken = [safeguarding_level(find_signals(clean(r["text"]), today=EVALUATION_DATE), 0.0, 1.0, 1.0) == "disclosure" for r in rows]
    assert sum(s for s, r in zip(spoken, rows) if r["safeguarding"]) >= 75
    assert sum(s for s, r in zip(spoken, rows) if not r["safeguarding"]) <= 2


def test_the_rules_speak_on_the_fifth_writers_disclosures_and_keep_quiet_on_their_look_alikes() -> None:
    """triage/corpus/next/sgw.jsonl: 110 disclosures and 140 ordinary messages by a fifth writer,
    read for the rules but not trained on. The rules alone put 54 of the disclosures at
    `disclosure` before they were read and 65 after, and 7 ordinary messages before, 3 after."""
    rows = [json.loads(line) for line in (CORPUS_NEXT / "sgw.jsonl").read_text(encoding="utf-8").splitlines() if line]
    spoken = [safeguarding_level(find_signals(clean(r["text"]), today=EVALUATION_DATE), 0.0, 1.0, 1.0) == "disclosure" for r in rows]
    assert sum(s for s, r in zip(spoken, rows) if r["safeguarding"]) >= 63
    assert sum(s for s, r in zip(spoken, rows) if not r["safeguarding"]) <= 3
