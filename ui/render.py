"""Safe rendering of answers and sources: escaped Markdown, no raw HTML, no links, no images.

Model output and guideline passages are untrusted text. Everything they contain is escaped
before it reaches `st.markdown`, so a passage or a sentence cannot inject HTML, an image
(`![x](https://…)` would exfiltrate through the request), a link, LaTeX or a Streamlit
directive; only the highlighting and the marks this module adds are Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import streamlit as st

from assistant.citations import content_terms
from assistant.domain import Answer, AnswerMode, AnswerSentence, Source
from ui.i18n import Lang, translate

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them disarms emphasis, links, images, HTML, code, tables, LaTeX ($) and directives (:[]).
_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
# GFM turns bare URLs, "www." and e-mail addresses into links even when their punctuation is
# escaped (seen in Chromium): a zero-width space after the scheme, "www" or "@" stops it.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|file|data|javascript|www)(?=\\?[:.])|(@)")
OK_MARK = "✓"
WARN_MARK = "⚠"


def escape_markdown(text: str) -> str:
    """Text that st.markdown shows literally (no HTML, links, images, emphasis or LaTeX)."""
    escaped = _ASCII_PUNCT.sub(r"\\\1", _AUTOLINK.sub("\\g<0>\u200b", text))
    # Line starts like "1." or "-" are escaped above; keep line breaks as hard breaks.
    return escaped.replace("\r", "").replace("\n", "  \n")


def _spans(passage: str, targets: set[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _LATIN_WORD.finditer(passage):
        if content_terms(match.group(0)) & targets:
            spans.append(match.span())
    for term in targets:
        # Single characters are too common in Chinese to show as support.
        if not _CJK.search(term) or len(term) < 2:
            continue
        start = passage.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = passage.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def supporting_terms(passage: str, sentences: Iterable[str]) -> set[str]:
    """Content terms a passage shares with the answer sentences that cite it."""
    cited = content_terms(" ".join(sentences))
    return cited & content_terms(passage) if cited else set()


def highlight_passage(passage: str, sentences: Iterable[str]) -> str:
    """Escaped Markdown of the passage with the words supporting `sentences` highlighted."""
    targets = supporting_terms(passage, sentences)
    if not targets:
        return escape_markdown(passage)
    out: list[str] = []
    cursor = 0
    for start, end in _spans(passage, targets):
        out.append(escape_markdown(passage[cursor:start]))
        out.append(f":orange-background[{escape_markdown(passage[start:end])}]")
        cursor = end
    out.append(escape_markdown(passage[cursor:]))
    return "".join(out)


def sentence_markdown(sentence: AnswerSentence, *, lang: Lang) -> str:
    """One answer sentence, escaped, with its citation markers and its verification mark."""
    markers = "".join(f"\\[{n}\\]" for n in sentence.citations)
    if sentence.supported:
        mark = f":green[{OK_MARK}]"
        label = translate("verified", lang)
    else:
        mark = f":orange[{WARN_MARK}]"
        label = translate("unverified", lang)
    return f"{mark} {escape_markdown(sentence.text)} {markers} *({label})*"


def mode_banner(answer: Answer, *, lang: Lang) -> tuple[str, str]:
    """(kind, text) of the plain-words banner: kind is success, info, warning or error."""
    if answer.mode == AnswerMode.GENERATIVE:
        return "success", translate("mode_generative", lang)
    if answer.mode == AnswerMode.EXTRACTIVE:
        gated = any(flag.code.startswith(("gate", "not_approved")) for flag in answer.flags)
        return "info", translate("mode_not_approved" if gated else "mode_extractive", lang)
    if answer.mode == AnswerMode.REFUSED:
        return "warning", translate("mode_refused", lang)
    return "error", translate("mode_denied", lang)


def source_label(source: Source, *, lang: Lang) -> str:
    """The one-line title of a source card."""
    parts = [f"[{source.n}] {source.title}"]
    if source.version:
        parts.append(f"{translate('version', lang)} {source.version}")
    page = source.page_label or (str(source.page) if source.page is not None else "")
    if page:
        parts.append(f"{translate('page', lang)} {page}")
    parts.append(source.library)
    return " · ".join(parts)


def render_answer(
    answer: Answer,
    *,
    lang: Lang,
    original: Callable[[Source], Path | None],
    key: str,
) -> None:
    """Banner, redaction note, verified sentences and source cards of one answer."""
    kind, banner = mode_banner(answer, lang=lang)
    getattr(st, kind)(banner)
    redacted = sum(r.count for r in answer.redactions)
    if redacted:
        st.caption(translate("redacted", lang, n=redacted))
    if answer.message and answer.mode != AnswerMode.REFUSED:
        st.markdown(escape_markdown(answer.message))
    for sentence in answer.sentences:
        st.markdown(sentence_markdown(sentence, lang=lang))
    if answer.sources:
        st.markdown(f"**{translate('sources', lang)}**")
    for source in answer.sources:
        _render_source_card(source, answer=answer, lang=lang, original=original, key=key)


def _render_source_card(
    source: Source,
    *,
    answer: Answer,
    lang: Lang,
    original: Callable[[Source], Path | None],
    key: str,
) -> None:
    citing = [s.text for s in answer.sentences if source.n in s.citations]
    with st.expander(escape_markdown(source_label(source, lang=lang))):
        meta = [f"{translate('section', lang)}: {source.section}" if source.section else ""]
        st.caption(escape_markdown(" · ".join(m for m in meta if m) or source.doc_id))
        st.markdown(highlight_passage(source.text, citing))
        path = original(source)
        if path is None:
            st.caption(translate("original_missing", lang))
            return
        page = source.page_label or (str(source.page) if source.page is not None else "")
        label = (
            translate("open_original", lang, page=page)
            if page
            else translate("open_original_nopage", lang)
        )
        st.download_button(
            label,
            data=lambda: path.read_bytes(),
            file_name=path.name,
            mime="application/pdf" if path.suffix == ".pdf" else "application/octet-stream",
            key=f"orig-{key}-{source.n}",
            on_click="ignore",
        )
