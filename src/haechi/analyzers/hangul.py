"""Korean and Latin text folding for matching chat text against a lexicon: the evasions people
use to slip past keyword filters (spacing, dots, zero-width characters, split jamo ㅈㅣㅇㅣㄴ,
initial consonants ㅈㅇㄴㅇ, homoglyphs, leetspeak) folded back, and the spelling variants a
filter should expect (딥페 → 뒵페, 뒷페, 딮페). Hangul arithmetic per Unicode §3.12."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import product

_S_BASE = 0xAC00
_V_COUNT = 21
_T_COUNT = 28
_S_COUNT = 19 * _V_COUNT * _T_COUNT

CHOSEONG: tuple[str, ...] = tuple("ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ")
JUNGSEONG: tuple[str, ...] = tuple("ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ")
JONGSEONG: tuple[str, ...] = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")

_L_INDEX = {c: i for i, c in enumerate(CHOSEONG)}
_V_INDEX = {c: i for i, c in enumerate(JUNGSEONG)}
_T_INDEX = {c: i for i, c in enumerate(JONGSEONG) if c}

_COMPOUND_VOWELS = {
    ("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ",
    ("ㅜ", "ㅓ"): "ㅝ", ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ",
    ("ㅡ", "ㅣ"): "ㅢ",
}  # fmt: skip
_COMPOUND_FINALS = {
    ("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
    ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
    ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ",
}  # fmt: skip
_SPLIT_FINALS = {v: k for k, v in _COMPOUND_FINALS.items()}


def _build_jamo_map() -> dict[str, str]:
    """Conjoining (U+1100 block) jamo -> compatibility jamo (U+3131 block)."""
    table: dict[str, str] = {}
    for i, c in enumerate(CHOSEONG):
        table[chr(0x1100 + i)] = c
    for i, c in enumerate(JUNGSEONG):
        table[chr(0x1161 + i)] = c
    for i, c in enumerate(JONGSEONG[1:]):
        table[chr(0x11A8 + i)] = c
    return table


_JAMO_TO_COMPAT = _build_jamo_map()
# Hangul fillers are used as invisible "spaces" inside words.
_DROP = frozenset("\u115f\u1160\u3164\uffa0\u00ad\u034f\u180e")

_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i",
        "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
        "һ": "h", "ү": "y", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
        # Latin extras
        "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t",
        # symbol look-alikes for Hangul strokes
        "ᅵ": "ㅣ",
    }
)  # fmt: skip
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
_LEET_RUN = re.compile(r"(?<=[a-z])[0134578@$]+(?=[a-z])")
# "ㅈlㅇlㄴ": Latin l / 1 / | / i typed for the vowel ㅣ between consonants
_FAKE_I = re.compile(r"(?<=[ㄱ-ㅎ])[l1|i!](?=[ㄱ-ㅎ]|\s|$)")
_INTRA_PUNCT = re.compile(r"(?<=[^\W\d_])(?:[^\w\s]|_)+(?=[^\W\d_])")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_JAMO_RUN = re.compile(r"[가-힣ㄱ-ㅣ]+")
_HAS_JAMO = re.compile(r"[ㄱ-ㅣ]")
_SPACES = re.compile(r"\s+")
NON_WORD = re.compile(r"[\W_]+")
HANGUL_ONLY = re.compile(r"^[가-힣]+$")


def _is_syllable(ch: str) -> bool:
    return _S_BASE <= ord(ch) < _S_BASE + _S_COUNT


def decompose_syllable(ch: str) -> tuple[str, str, str] | None:
    """가 -> ('ㄱ', 'ㅏ', ''); returns None for anything that is not a syllable."""
    if len(ch) != 1 or not _is_syllable(ch):
        return None
    idx = ord(ch) - _S_BASE
    l_i, rest = divmod(idx, _V_COUNT * _T_COUNT)
    v_i, t_i = divmod(rest, _T_COUNT)
    return CHOSEONG[l_i], JUNGSEONG[v_i], JONGSEONG[t_i]


def compose_syllable(lead: str, vowel: str, tail: str = "") -> str:
    """('ㄱ', 'ㅏ', 'ㄱ') -> 각 (S = 0xAC00 + (L*21 + V)*28 + T)."""
    return chr(
        _S_BASE
        + (_L_INDEX[lead] * _V_COUNT + _V_INDEX[vowel]) * _T_COUNT
        + (_T_INDEX[tail] if tail else 0)
    )


def _compose_run(run: str) -> str:
    """Recombine split jamo inside one run of Hangul characters.

    Jamo sequences are composed with a greedy IME-style automaton
    (consonant + vowel [+ vowel] [+ final [+ final]] -> syllable).  Syllables
    that were typed whole are kept as they are, except that a single stray
    consonant right after an open syllable becomes its final (능요ㄱ -> 능욕);
    a consonant followed by more consonants is left alone so that initial
    abbreviations such as 이거ㅈㅇㄴㅇ survive.
    """
    seq = list(run)
    out: list[str] = []
    i, n = 0, len(seq)

    def is_vowel(k: int) -> bool:
        return k < n and seq[k] in _V_INDEX

    def is_cons(k: int) -> bool:
        return k < n and seq[k] in _L_INDEX

    while i < n:
        c = seq[i]
        parts = decompose_syllable(c)
        if parts is not None:
            if (
                not parts[2]
                and i + 1 < n
                and seq[i + 1] in _T_INDEX
                and not is_vowel(i + 2)
                and not is_cons(i + 2)
            ):
                out.append(compose_syllable(parts[0], parts[1], seq[i + 1]))
                i += 2
            else:
                out.append(c)
                i += 1
            continue
        if c in _L_INDEX and is_vowel(i + 1):
            vowel = seq[i + 1]
            i += 2
            if i < n and (vowel, seq[i]) in _COMPOUND_VOWELS:
                vowel = _COMPOUND_VOWELS[(vowel, seq[i])]
                i += 1
            tail = ""
            if i < n and seq[i] in _T_INDEX and not is_vowel(i + 1):
                tail = seq[i]
                i += 1
                if i < n and (tail, seq[i]) in _COMPOUND_FINALS and not is_vowel(i + 1):
                    tail = _COMPOUND_FINALS[(tail, seq[i])]
                    i += 1
            out.append(compose_syllable(c, vowel, tail))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _compose_runs(text: str) -> str:
    def fix(m: re.Match[str]) -> str:
        run = m.group(0)
        return _compose_run(run) if _HAS_JAMO.search(run) else run

    return _JAMO_RUN.sub(fix, text)


def _fold_char(ch: str) -> str:
    """One character as `prepare` keeps it before case and homoglyph folding ("" when
    dropped)."""
    if ch in _DROP or unicodedata.category(ch) == "Cf":
        return ""
    if _is_syllable(ch) or "\u3131" <= ch <= "\u3163":
        return ch
    mapped = _JAMO_TO_COMPAT.get(ch)
    if mapped is not None:
        return mapped
    # NFKD per character (compatibility folding: fullwidth, math letters, halfwidth jamo)
    # without letting NFKC glue compatibility jamo into syllables prematurely; combining
    # marks are dropped.
    return "".join(
        _JAMO_TO_COMPAT.get(c, c)
        for c in unicodedata.normalize("NFKD", ch)
        if c not in _DROP and not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )


class _Folded(dict[str, str]):
    """`_fold_char` of the characters met so far: a character folds the same wherever it
    stands, and chats use a few thousand distinct ones, so each is worked out once. Bounded,
    so that a file of every code point cannot grow it without end."""

    LIMIT = 1 << 16

    def __missing__(self, ch: str) -> str:
        got = _fold_char(ch)
        if len(self) < self.LIMIT:
            self[ch] = got
        return got


_FOLDED = _Folded()


def prepare(text: str) -> str:
    """NFKC-ish folding, zero-width removal, lowercase, homoglyphs; jamo kept apart."""
    folded = _FOLDED
    out = [folded[ch] for ch in text]
    s = "".join(out).casefold().translate(_HOMOGLYPHS)
    s = _LEET_RUN.sub(lambda m: m.group(0).translate(_LEET), s)
    s = _FAKE_I.sub("ㅣ", s)
    return _SPACES.sub(" ", s).strip()


def _collapse_single_chars(text: str) -> str:
    """Join runs of >= 3 one-letter tokens: '지 인 능 욕' -> '지인능욕'."""
    tokens = text.split(" ")
    out: list[str] = []
    run: list[str] = []
    letters = 0

    def flush() -> None:
        nonlocal letters
        if letters >= 3:
            out.append("".join(t for t in run if NON_WORD.sub("", t)))
        else:
            out.extend(run)
        run.clear()
        letters = 0

    for tok in tokens:
        core = NON_WORD.sub("", tok)
        if len(core) == 1 and core.isalpha():
            run.append(core)
            letters += 1
        elif not core and run:
            run.append(tok)  # punctuation-only token inside a spaced word
        else:
            flush()
            out.append(tok)
    flush()
    return " ".join(t for t in out if t)


def normalise(text: str) -> str:
    """Canonical matching form of a chat line.

    NFKC-style folding, lowercase, zero-width/filler removal, homoglyph and
    leetspeak mapping inside Latin words, removal of punctuation inserted
    inside words (지.인.능.욕), joining of spaced-out letters (지 인 능 욕) and
    recomposition of split jamo (ㅈㅣㅇㅣㄴ -> 지인) with Hangul arithmetic.
    """
    return normalise_prepared(prepare(text))


def normalise_prepared(s: str) -> str:
    """`normalise` of text `prepare` has already folded (the rest of its steps)."""
    s = _INTRA_PUNCT.sub("", s)
    s = _DIGIT_COMMA.sub("", s)
    s = _collapse_single_chars(s)
    s = _compose_runs(s)
    return _SPACES.sub(" ", s).strip()


def compact(text: str) -> str:
    """Normalised text without any spacing or punctuation."""
    return NON_WORD.sub("", normalise(text))


def choseong(term: str) -> str:
    """Initial-consonant abbreviation: 지인능욕 -> ㅈㅇㄴㅇ (non-syllables kept)."""
    out: list[str] = []
    for ch in term:
        parts = decompose_syllable(ch)
        out.append(parts[0] if parts else ch)
    return "".join(out)


# Perturbations used to generate evasive spellings of lexicon terms.
_VOWEL_SWAP: dict[str, tuple[str, ...]] = {
    "ㅐ": ("ㅔ",), "ㅔ": ("ㅐ",), "ㅒ": ("ㅖ",), "ㅖ": ("ㅒ",),
    "ㅙ": ("ㅞ", "ㅚ"), "ㅞ": ("ㅙ", "ㅚ"), "ㅚ": ("ㅙ", "ㅞ"),
    "ㅣ": ("ㅟ", "ㅢ"), "ㅢ": ("ㅣ",), "ㅟ": ("ㅣ",),
}  # fmt: skip
_FINAL_SWAP: dict[str, tuple[str, ...]] = {
    "ㄱ": ("ㅋ", "ㄲ"), "ㅋ": ("ㄱ",), "ㄲ": ("ㄱ",),
    "ㅂ": ("ㅍ", "ㅅ"), "ㅍ": ("ㅂ",),
    "ㅅ": ("ㄷ", "ㅆ", "ㅌ"), "ㄷ": ("ㅅ", "ㅌ"), "ㅆ": ("ㅅ",), "ㅈ": ("ㅅ", "ㅊ"),
    "ㅊ": ("ㅈ", "ㅅ"), "ㅌ": ("ㅅ", "ㄷ"), "ㅎ": ("ㅅ",),
}  # fmt: skip
_LEAD_SWAP: dict[str, tuple[str, ...]] = {
    "ㄱ": ("ㄲ",), "ㄷ": ("ㄸ",), "ㅂ": ("ㅃ",), "ㅅ": ("ㅆ",), "ㅈ": ("ㅉ",),
    "ㄲ": ("ㄱ",), "ㄸ": ("ㄷ",), "ㅃ": ("ㅂ",), "ㅆ": ("ㅅ",), "ㅉ": ("ㅈ",),
}  # fmt: skip


def _syllable_variants(ch: str) -> list[str]:
    parts = decompose_syllable(ch)
    if parts is None:
        return []
    lead, vowel, tail = parts
    leads = (lead, *_LEAD_SWAP.get(lead, ()))
    vowels = (vowel, *_VOWEL_SWAP.get(vowel, ()))
    tails = (tail, *_FINAL_SWAP.get(tail, ())) if tail else ("",)
    out = {compose_syllable(a, b, c) for a, b, c in product(leads, vowels, tails)}
    out.discard(ch)
    return sorted(out)


def spelling_variants(term: str, stoplist: Iterable[str] = ()) -> tuple[str, ...]:
    """Evasive spellings of a Hangul term, one syllable perturbed at a time.

    Perturbations: tense/lax initial (ㄷ/ㄸ), confusable vowels (ㅔ/ㅐ, ㅣ/ㅟ/ㅢ)
    and finals that sound alike (ㅂ/ㅍ/ㅅ, ㄱ/ㅋ/ㄲ, ㄷ/ㅅ/ㅆ/ㅈ/ㅊ/ㅌ), combined
    within the perturbed syllable: 딥페 -> 뒵페, 뒷페, 딮페, 띱페 ...
    """
    if len(term) < 2 or not HANGUL_ONLY.match(term):
        return ()
    stop = set(stoplist)
    found: set[str] = set()
    for pos, ch in enumerate(term):
        for alt in _syllable_variants(ch):
            found.add(term[:pos] + alt + term[pos + 1 :])
    found.discard(term)
    return tuple(sorted(found - stop))
