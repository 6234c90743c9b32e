"""`heard classify`, `heard train` and `heard evaluate` as a person or a script runs them: real processes."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_heard

ARTEFACT = ROOT / "triage" / "artefacts" / "heard-triage.skops"
FIELDS = {"kind", "kind_confidence", "reasons", "primary_reason", "role", "role_confidence",
          "safeguarding", "safeguarding_level", "safeguarding_signals", "needs_review", "flags"}  # fmt: skip


def run_jsonl(lines: list[str] | bytes, *args: str):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.helpers import heard_env

    data = lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode()
    return subprocess.run([sys.executable, "-m", "heard", "classify", "--jsonl", *args], input=data,
                          capture_output=True, timeout=60, env=heard_env(), cwd=ROOT)  # fmt: skip


def test_classify_prints_a_readable_result() -> None:
    result = run_heard("classify", "my step dad hits me and im scared to go home")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("!! SAFEGUARDING")
    assert "kind" in result.stdout and "role" in result.stdout


def test_classify_jsonl_adds_the_result_and_passes_other_fields_through() -> None:
    result = run_jsonl([
        json.dumps({"id": "a1", "channel": "email", "text": "Thank you so much to Priya for everything this year"}),
        json.dumps({"id": "a2", "nested": {"keep": [1, 2]}, "text": "nobody rang me back about contact with my brother"}),
    ])  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2"]
    assert rows[1]["nested"] == {"keep": [1, 2]} and rows[0]["channel"] == "email"
    assert all(FIELDS <= set(r) for r in rows)
    assert rows[0]["kind"] == "compliment"
    assert all(isinstance(r["reasons"], list) and all(set(x) == {"code", "score"} for x in r["reasons"]) for r in rows)


def test_classify_jsonl_survives_bad_lines_and_says_which() -> None:
    junk = b'{"text": "ok then"}\nnot json at all\n[1, 2]\n{"text": null}\n\xff\xfe\x00garbage\n{"text": ""}\n'
    result = run_jsonl(junk)
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(rows) == 6
    assert "kind" in rows[0] and rows[5]["needs_review"] is True
    assert [("error" in r) for r in rows] == [False, True, True, True, True, False]
    assert "line 2" in rows[1]["error"]
    assert b"Traceback" not in result.stderr


def test_classify_jsonl_handles_a_megabyte_and_any_script() -> None:
    result = run_jsonl([
        json.dumps({"text": "x" * 1_000_000}),
        json.dumps({"text": "我的社工已经三个星期没有给我回电话了"}, ensure_ascii=False),
        json.dumps({"text": "\u0000\u0001binary\u0002junk"}),
    ])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.decode().splitlines()) == 3


def test_classify_needs_text_or_jsonl() -> None:
    result = run_heard("classify")
    assert result.returncode == 2
    assert "give either TEXT or --jsonl" in result.stderr


def test_a_missing_artefact_is_one_clear_line(tmp_path: Path) -> None:
    result = run_heard("classify", "--artefact", str(tmp_path / "none.skops"), "hello")
    assert result.returncode == 1
    assert "run `heard train`" in result.stderr and "Traceback" not in result.stderr


def test_an_artefact_from_another_scikit_learn_is_refused_clearly(tmp_path: Path) -> None:
    target = tmp_path / "old.skops"
    with zipfile.ZipFile(ARTEFACT) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "heard.json":
                data = json.dumps({**json.loads(data), "sklearn_version": "1.2.0"}).encode()
            new.writestr(item, data)
    result = run_heard("classify", "--artefact", str(target), "hello")
    assert result.returncode == 1
    assert "trained with scikit-learn 1.2.0" in result.stderr and "run `heard train`" in result.stderr


def test_train_and_evaluate_explain_themselves() -> None:
    assert "--with-corrections" in run_heard("train", "--help").stdout
    assert "confusion" in run_heard("evaluate", "--help").stdout


def _small_corpus(tmp_path: Path, every: int = 5) -> Path:
    from triage.classifier.corpus import load_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    examples = load_corpus()[::every]
    (corpus / "small.jsonl").write_text("\n".join(json.dumps(e.as_dict()) for e in examples) + "\n")
    return corpus


@pytest.mark.slow
def test_train_writes_artefact_metrics_and_card_that_classify_can_use(tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path)
    out = tmp_path / "model" / "a.skops"
    card = tmp_path / "CARD.md"
    result = run_heard("train", "--corpus", str(corpus), "--output", str(out), "--model-card", str(card), "--folds", "3", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "cross-validated: kind macro-F1" in result.stdout
    assert "cross-validation fold 3/3 done" in result.stderr  # the progress display
    assert (out.parent / "metrics.json").exists() and "Model card" in card.read_text()
    classified = run_heard("classify", "--artefact", str(out), "thank you Jo")
    assert classified.returncode == 0, classified.stderr


@pytest.mark.slow
def test_evaluate_prints_per_class_scores_and_confusion_matrices(tmp_path: Path) -> None:
    result = run_heard("evaluate", "--corpus", str(_small_corpus(tmp_path)), "--folds", "3", timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "held-out split" in out and "3-fold cross-validation" in out
    assert out.count("confusion (rows: true, columns: predicted)") >= 6
    for label in ("initial_feedback", "care_leaver", "voice_not_heard", "court_proceedings"):
        assert label in out


@pytest.mark.slow
def test_train_with_corrections_reads_officers_corrections_from_the_database(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'heard.db'}"
    assert run_heard("db", "upgrade", database_url=url).returncode == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO traininglabel (text, field, predicted, corrected, created_at) VALUES (:t, :f, :p, :c, CURRENT_TIMESTAMP)"),
            [
                {"t": "the taxi to contact was late again", "f": "kind", "p": '"complaint"', "c": '"initial_feedback"'},
                {"t": "the taxi to contact was late again", "f": "reasons", "p": '["delay"]', "c": '["family_time"]'},
                {"t": "cheers", "f": "role", "p": '"other"', "c": '"wizard"'},
            ],
        )
    engine.dispose()
    out = tmp_path / "model" / "a.skops"
    result = run_heard("train", "--with-corrections", "--corpus", str(_small_corpus(tmp_path, 6)), "--output", str(out),
                       "--model-card", str(tmp_path / "card.md"), "--folds", "2", database_url=url, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 corrections on 2 texts (1 skipped" in result.stderr
    metrics = json.loads((out.parent / "metrics.json").read_text())
    assert metrics["corrections_added"] == 2


def test_the_shipped_artefact_works_without_training(tmp_path: Path) -> None:
    """A fresh checkout classifies straight away: the artefact and its metrics ship with the code."""
    assert ARTEFACT.exists() and (ARTEFACT.parent / "metrics.json").exists()
    copy = tmp_path / "copy.skops"
    shutil.copy(ARTEFACT, copy)
    result = run_heard("classify", "--artefact", str(copy), "thank you")
    assert result.returncode == 0, result.stderr
