"""Saving and loading the trained classifier: skops only, never pickle or joblib.

A pickle runs whatever code it names when it is loaded, so a swapped artefact file would be
remote code execution in the intake process. skops stores estimators as data and refuses
any type not on an explicit allow-list (`TRUSTED_TYPES`, checked before loading; never
`trusted=True`). Our own parts of the model are plain NumPy arrays and lists.

The artefact also carries `heard.json` (versions, corpus digest, thresholds), readable
without loading anything; a scikit-learn release other than the one that trained the
model (major.minor) is refused with a message saying to run `heard train`, because
estimators' internals change between releases and would give silently wrong scores.
"""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
import skops.io as sio

from triage.classifier.classification import Classifier
from triage.classifier.features import TextFeatures
from triage.classifier.models import LinearHead, TriageModels

ARTEFACT_DIR = Path(__file__).resolve().parents[1] / "artefacts"
DEFAULT_ARTEFACT = ARTEFACT_DIR / "heard-triage.skops"
METADATA_MEMBER = "heard.json"
FORMAT = "heard-triage/1"

# Every type the artefact may contain beyond what skops trusts by default. Nothing else loads.
TRUSTED_TYPES = [
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.svm._classes.LinearSVC",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.str_",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
]


class ArtefactError(Exception):
    """The artefact is missing, damaged, untrusted or from another scikit-learn: the message says what to do."""


def _version(v: str) -> tuple[int, int]:
    major, minor, *_ = (v.split(".") + ["0"])[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def save_classifier(classifier: Classifier, path: Path) -> None:
    """Write the artefact: skops file with the models, plus `heard.json` inside the same zip."""
    m = classifier.models
    meta = {
        **classifier.meta,
        "format": FORMAT,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "numpy_version": np.__version__,
    }
    payload = {
        "meta": json.dumps(meta, sort_keys=True),
        "features": m.features.state(),
        "kind": m.kind,
        "role": m.role,
        "reasons": m.reasons.state(),
        "primary": m.primary.state(),
        "safeguarding": m.safeguarding.state(),
        "flags": m.flags.state(),
        "flag_rules_used": list(m.flag_rules_used),
        "disclosure_threshold": float(m.disclosure_threshold),
        "rule_veto": float(m.rule_veto),
        "primary_mix": [float(w) for w in m.primary_mix],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    sio.dump(payload, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    with zipfile.ZipFile(tmp, "a") as archive:
        archive.writestr(METADATA_MEMBER, json.dumps(meta, indent=2, sort_keys=True))
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, Any]:
    """The artefact's `heard.json`, without loading any model."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(METADATA_MEMBER))
    except FileNotFoundError:
        raise ArtefactError(f"no classifier artefact at {path}: run `heard train` to build one") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ArtefactError(f"{path} is not a Heard classifier artefact ({exc}): run `heard train` to rebuild it") from None


def check_compatible(meta: dict[str, Any], path: Path) -> None:
    if meta.get("format") != FORMAT:
        raise ArtefactError(f"{path} has format {meta.get('format')!r}, expected {FORMAT!r}: run `heard train` to rebuild it")
    trained = str(meta.get("sklearn_version", "unknown"))
    try:
        same = _version(trained) == _version(sklearn.__version__)
    except ValueError:
        same = False
    if not same:
        raise ArtefactError(
            f"{path} was trained with scikit-learn {trained} but scikit-learn {sklearn.__version__} is installed: "
            "run `heard train` to rebuild it with this version"
        )


def load_classifier_from(path: Path) -> Classifier:
    """Check, then load, an artefact. Raises ArtefactError with a message meant for a person."""
    path = Path(path)
    meta = read_metadata(path)
    check_compatible(meta, path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ArtefactError(f"{path} cannot be read ({exc}): run `heard train` to rebuild it") from None
    if unexpected := sorted(set(untrusted) - set(TRUSTED_TYPES)):
        raise ArtefactError(f"{path} contains types that are not on the allow-list, refusing to load: {', '.join(unexpected)}")
    try:
        payload = sio.load(path, trusted=TRUSTED_TYPES)
        models = TriageModels(
            features=TextFeatures.from_state(payload["features"]),
            kind=payload["kind"],
            role=payload["role"],
            reasons=LinearHead.from_state(payload["reasons"]),
            primary=LinearHead.from_state(payload["primary"]),
            safeguarding=LinearHead.from_state(payload["safeguarding"]),
            flags=LinearHead.from_state(payload["flags"]),
            flag_rules_used=tuple(payload["flag_rules_used"]),
            disclosure_threshold=float(payload.get("disclosure_threshold", 1.0)),
            rule_veto=float(payload.get("rule_veto", 0.0)),
            primary_mix=tuple(float(w) for w in payload.get("primary_mix", (1.0, 0.0))),  # type: ignore[arg-type]
        )
    except ArtefactError:
        raise
    except Exception as exc:
        raise ArtefactError(f"{path} is damaged ({type(exc).__name__}: {exc}): run `heard train` to rebuild it") from None
    return Classifier(models, json.loads(payload["meta"]))


_cache: dict[Path, Classifier] = {}
_cache_lock = threading.Lock()


def load_classifier(path: str | Path | None = None) -> Classifier:
    """The classifier from an artefact (the shipped one by default), loaded once per path and cached."""
    resolved = Path(path or DEFAULT_ARTEFACT).resolve()
    with _cache_lock:
        if resolved not in _cache:
            _cache[resolved] = load_classifier_from(resolved)
        return _cache[resolved]
