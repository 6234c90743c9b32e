"""Turning cleaned text into TF-IDF vectors: word 1–2-grams plus character 2–4-grams inside words.

Why our own vectoriser rather than sklearn's TfidfVectorizer: the speed targets (2 ms a
message, 5,000 a second) leave about 100 µs for features, and sklearn spends most of its
time building and hashing n-gram strings. Ours caches each word's character n-gram
columns as packed bytes (words repeat, so a message costs a few dozen dictionary look-ups
and one join) and builds the sparse matrix with NumPy. Its state is plain data (two term
arrays and IDF weights), so the artefact holds no code of ours and skops need trust
nothing beyond NumPy.

Character n-grams cope with the way young people write ("wot", "dont", "ur", emoji);
word n-grams with formal emails. Sublinear TF and L2 norm, as usual.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

_WORD = re.compile(r"\w+", re.UNICODE)
CHAR_NGRAMS = (2, 4)
_CACHE_LIMIT = 200_000  # words; bounds memory when serving for months
_ID_BYTES = array("i").itemsize


def fold(text: str) -> str:
    """Lower case, one kind of apostrophe, single spaces."""
    # str.replace, not str.translate: a translation table costs a dictionary look-up a character
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").split())


def word_grams(folded: str) -> list[str]:
    tokens = _WORD.findall(folded)
    return tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]


def char_grams(token: str) -> list[str]:
    """Character n-grams of one whitespace-separated token, padded with spaces (like char_wb)."""
    padded = " " + token + " "
    if len(padded) <= CHAR_NGRAMS[0]:
        return [padded]
    return [padded[i : i + n] for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1) for i in range(len(padded) - n + 1)]


class TextFeatures:
    """A fitted vocabulary and its IDF weights; `transform` gives L2-normalised TF-IDF rows.

    Columns: word terms first, then character terms."""

    def __init__(self, words: np.ndarray, chars: np.ndarray, idf: np.ndarray) -> None:
        self.words, self.chars, self.idf = words, chars, np.asarray(idf, dtype=np.float64)
        # unigrams by string, bigrams by (first, second): looking up the pair zip() already
        # made is cheaper than building the "first second" string for every pair
        self._word_index: dict[object, int] = {}
        for i, t in enumerate(words.tolist()):
            first, _, second = t.partition(" ")
            self._word_index[(first, second) if second else t] = i
        offset = len(words)
        self._char_index = {t: offset + i for i, t in enumerate(chars.tolist())}
        self._token_cache: dict[str, list[int]] = {}

    @property
    def size(self) -> int:
        return len(self.words) + len(self.chars)

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2, max_words: int = 20_000, max_chars: int = 40_000) -> TextFeatures:
        """Keep terms seen in at least `min_df` texts, the most frequent first (ties by term)."""
        word_df: Counter[str] = Counter()
        char_df: Counter[str] = Counter()
        for text in texts:
            folded = fold(text)
            word_df.update(set(word_grams(folded)))
            char_df.update({g for token in set(folded.split()) for g in char_grams(token)})
        n = len(texts)

        def keep(df: Counter[str], limit: int) -> list[tuple[int, str]]:
            kept = sorted(((c, t) for t, c in df.items() if c >= min_df), key=lambda ct: (-ct[0], ct[1]))[:limit]
            return sorted(kept, key=lambda ct: ct[1])

        words, chars = keep(word_df, max_words), keep(char_df, max_chars)
        idf = np.array([np.log((1 + n) / (1 + c)) + 1.0 for c, _ in words + chars], dtype=np.float64)
        return cls(np.array([t for _, t in words], dtype=str), np.array([t for _, t in chars], dtype=str), idf)

    def _columns(self, text: str, coverage: list[float] | None = None) -> bytes:
        """The text's column ids, repeats included, as native int32 bytes: joining cached byte
        strings is a memory copy, where extending lists of Python ints costs per id."""
        folded = fold(text)
        get_word = self._word_index.get
        tokens = _WORD.findall(folded)
        columns = [i for i in map(get_word, tokens) if i is not None]
        if coverage is not None:
            coverage.append(len(columns) / len(tokens) if tokens else 0.0)
        columns += [i for i in map(get_word, zip(tokens, tokens[1:])) if i is not None]
        parts = [array("i", columns).tobytes()]
        cache = self._token_cache
        for token in folded.split():
            ids = cache.get(token)
            if ids is None:
                get_char = self._char_index.get
                ids = array("i", [i for i in map(get_char, char_grams(token)) if i is not None]).tobytes()
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[token] = ids
            parts.append(ids)
        return b"".join(parts)

    def transform(self, texts: Sequence[str], coverage: list[float] | None = None) -> sp.csc_matrix:
        """TF-IDF rows (as a CSC matrix); `coverage`, if given, receives each text's share of words in the vocabulary."""
        columns = [self._columns(text, coverage) for text in texts]
        n = len(texts)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, columns), dtype=np.int64, count=n) // _ID_BYTES, out=indptr[1:])
        indices = np.frombuffer(b"".join(columns), dtype=np.intc)
        # To CSC and only then count the terms: the conversion is a linear counting sort that
        # leaves repeats side by side, where counting in CSR would sort every row (a tenth of
        # the time a message takes).
        matrix = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, self.size)).tocsc()
        matrix.sum_duplicates()  # term counts
        data = (np.log(matrix.data) + 1.0) * np.repeat(self.idf, np.diff(matrix.indptr))
        # Each block (words, characters) is normalised on its own, as a FeatureUnion of two
        # TF-IDF vectorisers would: otherwise the far more numerous character n-grams drown the words.
        slot = matrix.indices * 2
        slot[matrix.indptr[len(self.words)] :] += 1
        norms = np.sqrt(np.bincount(slot, weights=data * data, minlength=2 * n))
        norms[norms == 0] = 1.0
        matrix.data = data / norms[slot]
        return matrix

    def state(self) -> dict[str, np.ndarray]:
        return {"words": self.words, "chars": self.chars, "idf": self.idf}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> TextFeatures:
        return cls(np.asarray(state["words"]), np.asarray(state["chars"]), np.asarray(state["idf"]))
