"""The triage classifier: kind, reasons, complainant role, safeguarding and eligibility flags.

    from triage.classifier import load_classifier, Classification
    clf = load_classifier()            # the shipped artefact, loaded once and cached
    result = clf.classify(raw_text)    # cleaning.clean is applied inside
    result.as_dict()                   # the JSON object of `heard classify --jsonl`

Modules: corpus (the hand-written examples), features (TF-IDF), safeguarding_rules and
eligibility (explainable phrase rules), models (fitting), classification (from scores to a
Classification), persistence (skops), training and evaluation (what `heard train` and
`heard evaluate` run), model_card.
"""

from triage.classifier.classification import Classification, Classifier
from triage.classifier.persistence import ArtefactError, load_classifier

__all__ = ["ArtefactError", "Classification", "Classifier", "load_classifier"]
