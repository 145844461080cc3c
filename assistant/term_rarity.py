"""How many of the library's passages hold a term: document frequencies of the index's terms,
for the weights of a question's terms (issue #10 item 2: a drug or disease name outweighs
"dose" or "患者") and for whether the library holds a name at all."""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Mapping
from typing import Final

from assistant.embedding import SparseEncoder
from assistant.glossary import normalise_en
from assistant.language import has_cjk

# A clipped clinical word ("detox", "benzo", "rehab") stands for the library's longer word it
# begins; shorter ones begin too many words ("hypo", "prep").
_MIN_CLIPPED: Final[int] = 5
_PLAIN_WORD_RE: Final[re.Pattern[str]] = re.compile(r"[a-z]+")


class TermRarity:
    """Document frequencies of index terms over the library's passages (for IDF weights)."""

    def __init__(self, document_frequency: Mapping[str, int], passages: int) -> None:
        self.df = document_frequency
        self.passages = max(passages, 1)

    def frequency(self, term: str) -> int:
        """Passages holding the term (a Chinese word unknown to the index: its rarest bigram;
        an English phrase: its rarest word, an upper bound)."""
        key = term.lower()
        if key in self.df:
            return self.df[key]
        words = normalise_en(key).split()
        if len(words) == 1 and words[0] in self.df:
            return self.df[words[0]]
        if len(words) > 1 and not has_cjk(key) and all(w in self.df for w in words):
            return min(self.df[w] for w in words)
        if not has_cjk(key) and not any(c.isspace() for c in key):
            # A code the index cut apart ("SARS-CoV-2": sar, cov; "COVID-19": covid, 19).
            pieces = SparseEncoder.latin_terms(key)
            return min((self.df.get(w, 0) for w in pieces), default=0)
        if has_cjk(key) and len(key) >= 2:
            grams = [f"#{key[i : i + 2]}" for i in range(len(key) - 1)]
            return min(self.df.get(g, 0) for g in grams)
        if has_cjk(key):
            return self.df.get(f"#{key}", 0)  # one character (盐 for "salt"): its n-gram
        return 0

    def idf(self, df: int) -> float:
        """BM25's IDF (as Qdrant computes it) of a term found in `df` passages."""
        n = self.passages
        return math.log((n - df + 0.5) / (df + 0.5) + 1)

    @functools.cached_property
    def _english_words(self) -> list[str]:
        return sorted(w for w in self.df if _PLAIN_WORD_RE.fullmatch(w))

    def completions(self, word: str, *, limit: int = 2) -> list[str]:
        """Library words that a clipped English word begins ("detox" → detoxification,
        "benzo" → benzodiazepine), most used first; none for a word the library holds."""
        word = word.lower()
        if len(word) < _MIN_CLIPPED or not _PLAIN_WORD_RE.fullmatch(word) or self.frequency(word):
            return []
        words = self._english_words
        found = []
        for w in words[bisect.bisect_left(words, word) :]:
            if not w.startswith(word):
                break
            if len(w) >= len(word) + 3:
                found.append(w)
        return sorted(found, key=lambda w: -self.df[w])[:limit]
