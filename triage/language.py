"""Which language a message is in, when it is surely not English: officers arrange an
interpreter (docs/taxonomy.md: note the need, never let it delay the clock) and the chat tells the
person they may write in their own language.

py3langid ships its own model (no download at run time). It is loaded once, on first use,
and only answers when it is sure: three words or more and a probability of at least
MIN_PROBABILITY, so that young people's English ("wot", "innit", "tbh") is never taken for
another language.
"""

from __future__ import annotations

import re
import threading

MIN_PROBABILITY = 0.9
MIN_WORDS = 3
_WORDS = re.compile(r"[^\W\d_]+")
_lock = threading.Lock()
_identifier = None


def _load():  # type: ignore[no-untyped-def]
    global _identifier
    if _identifier is None:  # the lock only while it loads, not on every message
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    return _identifier


def other_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language when it is surely not English, else None."""
    if len(_WORDS.findall(text[:2000])) < MIN_WORDS:
        return None
    language, probability = _load().classify(text[:2000])
    return str(language) if language != "en" and probability >= MIN_PROBABILITY else None


def warm() -> None:
    """Load the model now (at start-up), not on a person's first message."""
    _load()


# Names for the languages councils in England most often need interpreters for; others show their code.
NAMES = {
    "ar": "Arabic", "bn": "Bengali", "cs": "Czech", "cy": "Welsh", "de": "German", "es": "Spanish", "fa": "Persian",
    "fr": "French", "gu": "Gujarati", "hi": "Hindi", "hu": "Hungarian", "it": "Italian", "ku": "Kurdish",
    "lt": "Lithuanian", "lv": "Latvian", "nl": "Dutch", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "so": "Somali", "sq": "Albanian",
    "ta": "Tamil", "ti": "Tigrinya", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_name(code: str) -> str:
    """"Polish" for "pl"; the code itself for a language not in NAMES."""
    return NAMES.get(code, code)
