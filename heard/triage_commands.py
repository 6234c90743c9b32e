"""`heard train`, `heard evaluate` and `heard classify`: the classifier's commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

_BATCH = 256  # lines classified together by `classify --jsonl`
# Named here for --help only; importing the classifier (scikit-learn) would slow every command.
_SHIPPED = "triage/artefacts/heard-triage.skops"


def _progress_printer() -> Any:
    """A progress display on stderr: elapsed seconds and the step, one line each."""
    start = time.monotonic()

    def show(step: str) -> None:
        click.echo(f"[{time.monotonic() - start:5.1f}s] {step}", err=True)

    return show


def _load(artefact: Path | None):  # type: ignore[no-untyped-def]
    from triage.classifier import ArtefactError, load_classifier

    try:
        return load_classifier(artefact)
    except ArtefactError as exc:
        raise click.ClickException(str(exc)) from None


def _corrections(ctx: Any, artefact: Path) -> list[Any]:
    """Officers' corrections from the database, as training examples."""
    from sqlmodel import Session, select

    from models.audit import TrainingLabel
    from triage.classifier import ArtefactError
    from triage.classifier.corpus import load_corpus
    from triage.classifier.persistence import load_classifier_from
    from triage.classifier.training import CORRECTION_FIELDS, corrections_to_examples, fit_classifier

    engine = ctx.engine()
    try:
        with Session(engine) as session:
            rows = [
                {"text": r.text, "field": r.field, "corrected": r.corrected}
                for r in session.exec(select(TrainingLabel).order_by(TrainingLabel.id))  # type: ignore[arg-type]
                if r.field in CORRECTION_FIELDS
            ]
    except Exception as exc:  # no table yet, say
        raise click.ClickException(f"cannot read officers' corrections: {exc.__class__.__name__}: run `heard db upgrade`?") from None
    finally:
        engine.dispose()
    if not rows:
        return []
    try:
        base = load_classifier_from(artefact)
    except ArtefactError:
        base = fit_classifier(load_corpus())
    examples, skipped = corrections_to_examples(rows, base)
    click.echo(f"{len(rows)} corrections on {len(examples)} texts ({skipped} skipped: not a valid value for their field)", err=True)
    return examples


def register(cli: click.Group) -> None:
    """Add the classifier's commands to the `heard` group."""
    from heard.cli import Context, pass_context

    artefact_option = click.option(
        "--artefact", type=click.Path(path_type=Path, dir_okay=False), default=None,
        help=f"Classifier artefact to use. Default: the shipped one ({_SHIPPED}).",
    )  # fmt: skip

    @cli.command()
    @click.option("--with-corrections", is_flag=True, help="Add officers' corrections from the database to the training data.")
    @click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
                  help=f"Where to write the artefact; metrics.json goes beside it. Default: {_SHIPPED}.")  # fmt: skip
    @click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
                  help="Directory of *.jsonl training examples. Default: triage/corpus.")  # fmt: skip
    @click.option("--model-card", type=click.Path(path_type=Path, dir_okay=False), default=None,
                  help="Where to write the model card. Default: triage/MODEL_CARD.md next to the artefacts directory.")  # fmt: skip
    @click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True, help="Cross-validation folds.")
    @click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True, help="Processes for the evaluation runs.")
    @pass_context
    def train(ctx: Context, with_corrections: bool, output: Path | None, corpus_dir: Path | None, model_card: Path | None, folds: int, jobs: int) -> None:
        """Rebuild the classifier from the corpus: evaluate, fit, write artefact, metrics and model card.

        Reproducible: the same corpus gives the same metrics. Takes under a minute on two cores."""
        from triage.classifier.corpus import CorpusError
        from triage.classifier.model_card import blind_reports
        from triage.classifier.persistence import DEFAULT_ARTEFACT
        from triage.classifier.training import train as run_training

        output = output or DEFAULT_ARTEFACT
        corrections = _corrections(ctx, output) if with_corrections else []
        try:
            metrics = run_training(
                corpus_dir=corpus_dir, output=output, corrections=corrections, k=folds, n_jobs=jobs,
                progress=_progress_printer(), model_card=model_card,
            )  # fmt: skip
        except CorpusError as exc:
            raise click.ClickException(f"corpus: {exc}") from None
        s = metrics["summary"]
        cv, held = s["cross_validation"], s["held_out"]
        click.echo(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB), {output.parent / 'metrics.json'} and the model card")
        click.echo(
            f"cross-validated: kind macro-F1 {cv['kind_macro_f1']:.3f}, reason micro-F1 {cv['reason_micro_f1']:.3f}, "
            f"role accuracy {cv['role_accuracy']:.3f}, safeguarding recall {cv['safeguarding_recall']:.3f}"
        )
        for name, part in [("held-out", held), *blind_reports(s)]:  # the summary is keyed by set as the metrics are
            click.echo(
                f"{name}: safeguarding recall {part['safeguarding_recall']:.3f} (disclosure level "
                f"{part['disclosure_recall']:.3f}); on ordinary complaints `disclosure` "
                f"{part['disclosure_false_positive_rate_ordinary']:.3f}, `possible` {part['possible_rate_ordinary']:.3f}; "
                f"primary reason {part['primary_reason_accuracy']:.3f}"
            )

    @cli.command()
    @click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
                  help="Directory of *.jsonl examples. Default: triage/corpus.")  # fmt: skip
    @click.option("--test-set", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
                  help="Instead: score the artefact on this labelled JSONL file (e.g. tests/data/blind_set_5.jsonl), "
                       "with a table per `group`. Nothing is retrained.")  # fmt: skip
    @artefact_option
    @click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True, help="Cross-validation folds.")
    @click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True, help="Processes to use.")
    @click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
    def evaluate(corpus_dir: Path | None, test_set: Path | None, artefact: Path | None, folds: int, jobs: int, as_json: bool) -> None:
        """Per-class precision, recall, F1 and confusion matrices: held-out split and cross-validation.

        Retrains from scratch for each split; the shipped artefact is not changed. With
        --test-set, scores the artefact (the shipped one unless --artefact) on a test set it
        never saw, such as the blind set, instead."""
        from triage.classifier.corpus import CorpusError, load_corpus
        from triage.classifier.evaluation import format_groups, format_report
        from triage.classifier.training import evaluate as run_evaluation
        from triage.classifier.training import evaluate_test_set

        if test_set is not None:
            try:
                report = evaluate_test_set(_load(artefact), test_set)
            except CorpusError as exc:
                raise click.ClickException(f"test set: {exc}") from None
            if as_json:
                click.echo(json.dumps(report, indent=2, sort_keys=True))
                return
            click.echo(format_report(f"test set {test_set.name}", report))
            click.echo("\nby group:")
            click.echo("\n".join(format_groups(report["groups"])))
            return
        try:
            examples = load_corpus(corpus_dir)
        except CorpusError as exc:
            raise click.ClickException(f"corpus: {exc}") from None
        metrics = run_evaluation(examples, k=folds, n_jobs=jobs, progress=_progress_printer())
        if as_json:
            click.echo(json.dumps(metrics, indent=2, sort_keys=True))
            return
        click.echo(format_report("held-out split (20%, stratified, seed 0)", metrics["held_out"]))
        click.echo()
        click.echo(format_report(f"{folds}-fold cross-validation", metrics["cross_validation"]))

    @cli.command()
    @click.argument("text", required=False)
    @click.option("--jsonl", is_flag=True, help="Read JSON objects with a `text` field from stdin, one a line; write one result a line.")
    @artefact_option
    def classify(text: str | None, jsonl: bool, artefact: Path | None) -> None:
        """Classify TEXT (readable result), or a stream of JSON lines with --jsonl.

        With --jsonl every other field of an input object is passed through unchanged; the
        result's fields (kind, kind_confidence, reasons, primary_reason, role,
        role_confidence, safeguarding, safeguarding_level, safeguarding_signals,
        needs_review, flags) are added. `safeguarding` is true at either level;
        `safeguarding_level` is "disclosure" (explicit words of harm: urgent), "possible"
        (officers check) or null.
        A line that is not a JSON object with a string `text` gives {"error": ...} and the
        exit status is 1 at the end."""
        if jsonl == (text is not None):
            raise click.UsageError("give either TEXT or --jsonl (reading stdin), not both or neither")
        classifier = _load(artefact)
        if text is not None:
            click.echo(_readable(classifier.classify(text)))
            return
        if not _classify_stream(classifier, sys.stdin.buffer, sys.stdout):
            sys.exit(1)


def _readable(result: Any) -> str:
    lines = []
    if result.safeguarding_level == "disclosure":
        lines.append(f"!! SAFEGUARDING DISCLOSURE: refer now. Signals: {', '.join(result.safeguarding_signals)}")
    elif result.safeguarding:
        lines.append(f"?  possible safeguarding concern: an officer should check. Signals: {', '.join(result.safeguarding_signals)}")
    lines.append(f"kind       {result.kind.value} ({result.kind_confidence:.0%})")
    if result.reasons:
        lines.append(f"reasons    {', '.join(f'{c} ({s:.0%})' for c, s in result.reasons)}")
        lines.append(f"primary    {result.primary_reason}")
    lines.append(f"role       {result.role.value} ({result.role_confidence:.0%})")
    lines.append(f"flags      {', '.join(result.flags) or 'none'}")
    lines.append(f"review     {'needs review by an officer' if result.needs_review else 'confident'}")
    return "\n".join(lines)


def _classify_stream(classifier: Any, stream: Any, out: Any) -> bool:
    """Classify JSON lines in batches; True when every line was a valid object."""
    ok = True
    batch: list[tuple[int, dict[str, Any] | None, str]] = []

    def flush() -> None:
        results = iter(classifier.classify_many([t for _, obj, t in batch if obj is not None]))
        for _number, obj, message in batch:
            if obj is None:
                out.write(json.dumps({"error": message}, ensure_ascii=False) + "\n")
            else:
                out.write(json.dumps({**obj, **next(results).as_dict()}, ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8", errors="replace"))
        except ValueError as exc:
            obj, problem = None, f"line {number}: not JSON ({exc.msg})"
        else:
            problem = f"line {number}: not a JSON object with a string `text` field"
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            batch.append((number, obj, obj["text"]))
        else:
            ok = False
            click.echo(f"Error: {problem}", err=True)
            batch.append((number, None, problem))
        if len(batch) >= _BATCH:
            flush()
    if batch:
        flush()
    return ok
