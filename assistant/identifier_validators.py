"""Whether a candidate match is a patient identifier: checksums and name validators (issue 4).

The redaction rules (policies/redaction.yaml, `assistant.privacy`) find candidates with
patterns and name the validators that must accept them. Checksums live here in code — a PRC
resident ID's GB 11643 check character and province code, a card number's Luhn digit, a US
SSN's reserved ranges, a real birth date — and so do the person-name validators, which read
jieba's part-of-speech tags around a cue word ("患者王某某") or a label ("姓名：").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from assistant.language import CJK_CHARS, has_cjk

Span = tuple[int, int]
# A validator sees the rule's match and the candidate span; it returns the (possibly narrowed)
# span to replace, or None when the candidate is not an identifier.
Validator = Callable[["re.Match[str]", int, int], Span | None]
ValidatorFactory = Callable[[Mapping[str, Any]], Validator]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes: the first two digits of a resident ID.
_ID_PROVINCES = frozenset(
    (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50)
).union((51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91))


def resident_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a PRC resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_resident_id(value: str) -> bool:
    """True for an 18-digit ID with a valid checksum or a 15-digit legacy ID, both with a real
    birth date and region."""
    value = value.upper()
    if len(value) not in (15, 18) or not value[:17].isdigit():
        return False
    if int(value[:2]) not in _ID_PROVINCES:
        return False
    if len(value) == 18:
        if value[17] != resident_id_check_char(value[:17]):
            return False
        born = _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    else:
        if not value.isdigit():
            return False
        born = _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return born is not None and born <= date.today()


def _id_birth_date(value: str) -> date | None:
    if len(value) == 18:
        born = _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    else:
        born = _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return born if born is not None and date(1880, 1, 1) <= born <= date.today() else None


def looks_like_resident_id(value: str) -> bool:
    """True for a number shaped like a PRC resident ID, whatever its check character.

    A typo does not make an identifier less identifying (issue 13 item 2): a region code and a
    real birth date are the shape; a valid check character raises confidence (either of the two
    then suffices), a wrong one never vetoes.
    """
    value = value.upper()
    if len(value) not in (15, 18) or not value[:17].isdigit():
        return False
    if len(value) == 15 and not value.isdigit():
        return False
    region = int(value[:2]) in _ID_PROVINCES
    born = _id_birth_date(value) is not None
    if len(value) == 18 and value[17] == resident_id_check_char(value[:17]):
        return region or born
    return region and born


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 Luhn check over a string of digits."""
    if not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Card lengths of the major networks (UnionPay 16-19, Visa/Mastercard 16) and their first digits.
_CARD_SHAPES = frozenset({16, 19})
_CARD_FIRST_DIGITS = frozenset("3456")


def looks_like_card_number(value: str) -> bool:
    """True for a Luhn-valid 13-19 digit number, or a 16/19-digit one starting like a card.

    The Luhn digit raises confidence (any length 13-19 then counts); a card-shaped number
    with a wrong check digit is still a card number with a typo (issue 13 item 2).
    """
    digits = re.sub(r"\D", "", value)
    if len(set(digits)) <= 1 or not 13 <= len(digits) <= 19:
        return False
    if luhn_valid(digits):
        return True
    return len(digits) in _CARD_SHAPES and digits[0] in _CARD_FIRST_DIGITS


def is_us_ssn(value: str) -> bool:
    """True unless the SSN falls in a range the SSA never issues."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 9:
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def is_birth_date(value: str) -> bool:
    """True for a real calendar date between 1880 and today (ambiguous D/M orders accepted)."""
    numbers = [int(n) for n in re.findall(r"\d+", value)]
    years = [n for n in numbers if n >= 1000]
    if len(years) != 1 or not 1880 <= years[0] <= date.today().year:
        return False
    year = years[0]
    rest = [n for n in numbers if n < 1000]
    month_word = re.search(r"[A-Za-z]{3,}", value)
    if month_word:
        rest = [_MONTHS.get(month_word.group(0)[:3].lower(), 0), *rest]
    if len(rest) == 1:  # year and month only (出生年月)
        return 1 <= rest[0] <= 12
    if len(rest) != 2:
        return False
    a, b = rest
    orders = [(a, b)] if month_word or numbers[0] >= 1000 else [(a, b), (b, a)]
    return any(_real_date(year, m, d) is not None for m, d in orders)


def _check(predicate: Callable[[str], bool]) -> ValidatorFactory:
    def factory(_options: Mapping[str, Any]) -> Validator:
        def validate(match: re.Match[str], start: int, end: int) -> Span | None:
            return (start, end) if predicate(match.string[start:end]) else None

        return validate

    return factory


def _pos_tokens(text: str) -> list[tuple[str, str]]:
    # Imported on first use: jieba builds its dictionary (~1.5 s) only when a name cue appears.
    import jieba.posseg as posseg

    return [(pair.word, pair.flag) for pair in posseg.cut(text)]


def _in_dictionary(word: str) -> bool:
    import jieba

    return bool(jieba.dt.FREQ.get(word))


# jieba flags that may open a name when it splits the surname from the given name
_SURNAME_FLAGS = frozenset({"nr", "nrt", "nrfg", "n", "ns", "ng", "nz", "x"})
# jieba flags a given name is never made of (prepositions, conjunctions, particles, adverbs)
_NOT_GIVEN_NAME_FLAGS = frozenset({"p", "c", "u", "uj", "ul", "uz", "ud", "ug", "uv", "d", "y"})


# The cue words of the Chinese name rule (policies/redaction.yaml): a name led by one is a
# patient's in a case note.
_CUE_BEFORE = re.compile("患者|病人|病员|患儿|家属|伤者|产妇|孕妇")


def _tokens_from(match: re.Match[str], start: int) -> list[tuple[str, str]]:
    """jieba tokens of a short window from `start` (cut without the cue, which jieba would
    sometimes fuse with the name: 家属于涛 -> 家/属于/涛)."""
    return _pos_tokens(match.string[start : start + 8])


def _all_cjk(word: str) -> bool:
    return all(has_cjk(ch) for ch in word)


def _word_frequency(word: str) -> int:
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


def _zh_cue_name(options: Mapping[str, Any]) -> Validator:
    surnames = frozenset(str(options.get("surnames", "")).replace(" ", ""))
    compounds = tuple(str(s) for s in options.get("compound_surnames", ()))
    not_names = frozenset(str(w) for w in options.get("not_names", ()))
    name_end = re.compile(str(options.get("name_ends", r"[\s，,。.、；;：:（(]")))
    # A word this frequent in jieba's dictionary is prose, not a given name ("患者时应当…": 应当),
    # unless a patient is plainly there (issue 13 item 7).
    common = int(options.get("common_word_frequency", 1000))
    nearby = re.compile(str(options.get("patient_context", r"\d{7,}")))
    before, after = options.get("patient_context_window", [40, 40])
    case_header = re.compile(str(options.get("case_header", r"[，,、\s]*(?:[男女]|\d{1,3}\s*岁)")))
    # Surname characters that after a cue are far more often grammar (患者时…, 患者和家属,
    # 患者于…): a name starting with one needs a patient plainly there.
    prose_surnames = frozenset(str(options.get("prose_surnames", "")).replace(" ", ""))
    # Drug names open with surname characters too (华法林, 万古霉素, 丁丙诺啡).
    drug_endings = str(options.get("drug_endings", "霉素"))
    drug = re.compile(f"[{CJK_CHARS}]{{0,3}}?(?:{drug_endings})")

    def ordinary(word: str) -> bool:
        return _word_frequency(word) >= common

    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        candidate = match.string[start:end]
        if candidate[:2] in compounds:
            surname_len = 2
        elif candidate[0] in surnames:
            surname_len = 1
        else:
            return None  # "患者应…", "患者的…": cue words are mostly followed by grammar
        tokens = _tokens_from(match, start)
        if not tokens or tokens[0][0] in not_names:
            return None
        text = match.string

        def patient_beside(stop: int) -> bool:
            # A case header ("患者王某，男，45岁") or an identifier within reach. A colon after
            # the cue alone is not one: guidelines write "妊娠患者：应多学科评估…".
            return bool(case_header.match(text, stop, min(len(text), stop + 12))) or bool(
                nearby.search(text, max(0, start - before), min(len(text), stop + after))
            )

        for given_len in (1, 2):
            # "患者和平，男，45岁", "患者：甘平，": a case header settles it, whatever jieba
            # makes of the words
            stop = start + surname_len + given_len
            if stop <= end and (
                case_header.match(text, stop, min(len(text), stop + 12))
                or (
                    (stop == len(text) or name_end.match(text, stop))
                    and text[max(0, start - 1) : start] in (":", "：")
                )
            ):
                return (start, stop)
        if candidate[0] in prose_surnames or drug.match(text, start + surname_len):
            # only as its own clause beside an identifier: "患者时明，身份证号…"
            for given_len in (1, 2):
                stop = start + surname_len + given_len
                if (
                    stop <= end
                    and (stop == len(text) or name_end.match(text, stop))
                    and patient_beside(stop)
                ):
                    return (start, stop)
            return None
        word, flag = tokens[0]
        if _CUE_BEFORE.search(text, match.start(), start):
            # "患者方军，身份证号…": after a cue, a surname-led clause of 2–4 characters beside an
            # identifier is a name, whatever jieba's dictionary holds (方军 and 古诗 are words).
            clause = re.match(f"[{CJK_CHARS}]{{2,4}}", text[start:])
            stop = start + len(clause.group()) if clause else start
            if (
                clause
                and stop - start <= surname_len + 2  # a given name has one or two characters
                and (stop == len(text) or name_end.match(text, stop))
                # 高热 is an adjective, not a name; a lone surname's own tag says nothing (屈: v)
                and (len(word) <= surname_len or flag[:1] not in ("a", "v", "d", "m"))
                and patient_beside(stop)
            ):
                return (start, stop)
        if patient_beside(min(end, start + surname_len + 2)):
            # an identifier beside it settles it too ("患者甘平出现发热，身份证号…"), unless
            # the words are common nouns or adjectives ("床号12，高热，")
            given = tokens[1][0] if len(tokens) > 1 else ""
            if len(word) == surname_len and 1 <= len(given) <= 2 and _all_cjk(given):
                if not ordinary(given):
                    return (start, start + surname_len + len(given))
            elif (
                2 <= len(word) <= 4
                and _all_cjk(word)
                and (flag[:2] in ("nr", "ns", "nz") or not _in_dictionary(word))
            ):
                return (start, start + len(word))
        nr_word = flag.startswith("nr") and 2 <= len(word) <= 4 and _all_cjk(word)
        # a word jieba's HMM made up (not in its dictionary) after a surname is typically a name
        new_word = 2 <= len(word) <= 4 and _all_cjk(word) and not _in_dictionary(word)
        # jieba split the surname off an unfamiliar given name: 王/明天, 钱/多多, 包/志海
        surname_split = len(word) == surname_len and (
            flag in _SURNAME_FLAGS
            or (len(tokens) > 1 and _all_cjk(tokens[1][0]) and not _in_dictionary(tokens[1][0]))
        )
        if not (nr_word or new_word or surname_split):
            return None  # the surname character opens an ordinary word: 高热, 黄疸
        for given_len in (1, 2):
            # case-note form: surname, one or two given-name characters, then a clause break
            stop = start + surname_len + given_len
            if stop <= end and (stop == len(text) or name_end.match(text, stop)):
                if ordinary(text[start:stop]) and not patient_beside(stop):
                    continue  # "保持患者安静，": a common word in the name's slot
                return (start, stop)
        if nr_word:
            return (start, start + len(word))
        if new_word and len(word) > surname_len + 1:
            # a longer made-up word is as often a drug (患者华法林剂量) as a name: needs a patient
            stop = start + len(word)
            return (start, stop) if patient_beside(stop) else None
        if new_word:
            return (start, start + len(word))
        if len(tokens) > 1:
            given, given_flag = tokens[1]
            if 1 <= len(given) <= 2 and _all_cjk(given) and given_flag not in _NOT_GIVEN_NAME_FLAGS:
                stop = start + surname_len + len(given)
                if len(given) == 1 or not ordinary(given) or patient_beside(stop):
                    return (start, stop)
        return None

    return validate


def _zh_labelled_name(_options: Mapping[str, Any]) -> Validator:
    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        tokens = _tokens_from(match, start)
        if not tokens or not _all_cjk(tokens[0][0]):
            return None
        length = len(tokens[0][0])
        if length == 1 and len(tokens) > 1 and _all_cjk(tokens[1][0]):
            length += len(tokens[1][0])
        return (start, start + length) if 2 <= length <= 4 else (start, end)

    return validate


def _en_name(options: Mapping[str, Any]) -> Validator:
    not_names = frozenset(str(w).casefold() for w in options.get("not_names", ()))

    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        words = list(re.finditer(r"\S+", match.string[start:end]))
        kept = 0
        for word in words:
            if word.group(0).casefold() in not_names:
                break
            kept += 1
        if kept == 0:
            return None
        return (start, start + words[kept - 1].end())

    return validate


VALIDATORS: dict[str, ValidatorFactory] = {
    "prc_resident_id": _check(looks_like_resident_id),
    "card_number": _check(looks_like_card_number),
    "luhn": _check(lambda v: luhn_valid(re.sub(r"\D", "", v))),
    "us_ssn": _check(is_us_ssn),
    "birth_date": _check(is_birth_date),
    "zh_person_name": _zh_cue_name,
    "zh_labelled_name": _zh_labelled_name,
    "en_person_name": _en_name,
}
