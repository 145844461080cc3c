"""Safe rendering of answers and sources: escaped Markdown, no raw HTML, no links, no images.

Model output and guideline passages are untrusted text. Everything they contain is escaped
before it reaches `st.markdown`, so a passage or a sentence cannot inject HTML, an image
(`![x](https://…)` would exfiltrate through the request), a link, LaTeX or a Streamlit
directive; only the highlighting and the marks this module adds are Markdown.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import streamlit as st

from assistant.domain import (
    Answer,
    AnswerMode,
    AnswerSentence,
    ConflictSide,
    DroppedSentence,
    Grade,
    GuidelineConflict,
    OriginalFile,
    PassageBlock,
    PassageContext,
    Source,
    Strength,
)
from assistant.errors import AccessDenied
from assistant.service.ask import support_spans
from ui.i18n import Lang, translate

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them disarms emphasis, links, images, HTML, code, tables, LaTeX ($) and directives (:[]).
_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
# GFM turns bare URLs, "www." and e-mail addresses into links even when their punctuation is
# escaped (seen in Chromium): a zero-width space after the scheme, "www" or "@" stops it.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|file|data|javascript|www)(?=\\?[:.])|(@)")
OK_MARK = "✓"
WARN_MARK = "⚠"
# A short pause between streamed sentences so the answer visibly arrives sentence by sentence;
# every sentence is already verified when the stream starts (issue 5 item 3).
STREAM_PAUSE_S = 0.04
# The source card whose PDF link is on screen: its bytes go to the browser only on request.
PDF_OPEN = "gc_pdf_open"
# The passage around a cited source, for the answer sentences citing it (issue 16 item 5).
Preview = Callable[[Source, list[str]], PassageContext | None]


def escape_markdown(text: str) -> str:
    """Text that st.markdown shows literally (no HTML, links, images, emphasis or LaTeX)."""
    escaped = _ASCII_PUNCT.sub(r"\\\1", _AUTOLINK.sub("\\g<0>\u200b", text))
    # Line starts like "1." or "-" are escaped above; keep line breaks as hard breaks.
    return escaped.replace("\r", "").replace("\n", "  \n")


def highlight_passage(passage: str, sentences: Iterable[str]) -> str:
    """Escaped Markdown of the passage with the words supporting `sentences` highlighted."""
    return highlight_spans(passage, support_spans(passage, sentences))


def highlight_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escaped Markdown of `text` with the character ranges `spans` (in order) highlighted."""
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        out.append(escape_markdown(text[cursor:start]))
        out.append(f":orange-background[{escape_markdown(text[start:end])}]")
        cursor = end
    out.append(escape_markdown(text[cursor:]))
    return "".join(out)


def quoted_label(sentence: AnswerSentence, *, lang: Lang) -> str:
    """'Quoted from a guideline in Chinese' for a cross-lingual sentence, else ''.

    The service sets `language` only when the sentence's passage is in a language other than
    the question's; the sentence is then the passage's own words (issue #10 item 4).
    """
    if sentence.language is None:
        return ""
    return translate(f"quoted_from_{sentence.language}", lang)


_STRENGTH_COLOUR = {
    Strength.STRONG: "green",
    Strength.CONDITIONAL: "orange",
    Strength.AGAINST: "red",
}


def grade_badge(grade: Grade, *, lang: Lang) -> str:
    """The grade as Markdown badges in the UI language: strength, then evidence certainty.

    Only the normalised words are shown here; the guideline's own wording (and scale) goes
    beside it, escaped, through `grade_original` (issue #17 §1).
    """
    badges = []
    if grade.strength:
        words = escape_markdown(translate(f"grade_{grade.strength.value}", lang))
        badges.append(f":{_STRENGTH_COLOUR[grade.strength]}-badge[{words}]")
    if grade.certainty:
        level = translate(f"certainty_{grade.certainty.value}", lang)
        badges.append(f":gray-badge[{escape_markdown(translate('certainty', lang, level=level))}]")
    return " ".join(badges)


def grade_original(grade: Grade, *, lang: Lang) -> str:
    """'原文：证据等级2，推荐A': the wording the guideline uses, escaped."""
    return escape_markdown(translate("grade_original", lang, original=grade.original))


def sentence_grade(sentence: AnswerSentence, sources: Iterable[Source]) -> Grade | None:
    """The grade of the recommendation a sentence rests on, or None.

    A cited source's grade belongs to one sentence of its passage (`Grade.start`/`end`); the
    answer sentence carries it when its words are found there at least as much as in the rest
    of the passage, so a neighbouring, ungraded recommendation sharing a few words does not.
    Without a known span, only a sentence repeating the grade's own wording carries it.
    """
    for source in sources:
        grade = source.grade
        if grade is None or source.n not in sentence.citations:
            continue
        if grade.start is None or grade.end is None:
            if grade.original in sentence.text:
                return grade
            continue
        graded = source.text[grade.start : grade.end]
        rest = f"{source.text[: grade.start]}\n{source.text[grade.end :]}"
        inside = _supported_chars(graded, sentence.text)
        if inside and inside >= _supported_chars(rest, sentence.text):
            return grade
    return None


def _supported_chars(passage: str, sentence: str) -> int:
    return sum(end - start for start, end in support_spans(passage, [sentence]))


def sentence_markdown(sentence: AnswerSentence, *, lang: Lang, grade: Grade | None = None) -> str:
    """One answer sentence, escaped, with its citation markers, its verification mark and,
    for a verified sentence resting on a graded recommendation, the grade's badge."""
    markers = "".join(f"\\[{n}\\]" for n in sentence.citations)
    text = escape_markdown(sentence.text)
    quoted = quoted_label(sentence, lang=lang)
    label = f" :gray[· {quoted}]" if quoted else ""
    if sentence.supported:
        badge = f" {grade_badge(grade, lang=lang)}" if grade else ""
        verified = f"*({translate('verified', lang)})*"
        return f":green[{OK_MARK}]{badge} {text} {markers} {verified}{label}"
    # Only the `annotate` policy lets such a sentence through: say so next to it.
    note = translate("unsupported_note", lang)
    return f":orange[{WARN_MARK}] {text} {markers} :orange[*({note})*]{label}"


def dropped_reason(reason: str, *, lang: Lang) -> str:
    """Why a sentence was not shown, in words, with the service's code after it."""
    kind = reason.split(":", 1)[0]
    key = f"dropped_{kind}"
    try:
        words = translate(key, lang)
    except KeyError:
        return reason
    return f"{words} ({reason})"


def dropped_rows(dropped: Iterable[DroppedSentence], *, lang: Lang) -> list[dict[str, str]]:
    """Table rows (escaped Markdown) of the sentences an answer left out, for reviewers."""
    return [
        {
            translate("col_sentence", lang): escape_markdown(d.text),
            translate("col_citations", lang): " ".join(f"\\[{n}\\]" for n in d.citations),
            translate("col_reason", lang): escape_markdown(dropped_reason(d.reason, lang=lang)),
        }
        for d in dropped
    ]


def answer_chunks(answer: Answer, *, lang: Lang) -> Iterator[str]:
    """The answer's verified sentences as Markdown, one chunk per sentence, in order."""
    for index, sentence in enumerate(answer.sentences):
        grade = sentence_grade(sentence, answer.sources)
        yield ("\n\n" if index else "") + sentence_markdown(sentence, lang=lang, grade=grade)


def _paced(chunks: Iterable[str]) -> Iterator[str]:
    for chunk in chunks:
        yield chunk
        time.sleep(STREAM_PAUSE_S)


def mode_banner(answer: Answer, *, lang: Lang) -> tuple[str, str]:
    """(kind, text) of the plain-words banner: kind is success, info, warning or error."""
    if answer.mode == AnswerMode.GENERATIVE:
        if any(not s.supported for s in answer.sentences):
            return "warning", translate("mode_generative_unverified", lang)
        return "success", translate("mode_generative", lang)
    if answer.mode == AnswerMode.EXTRACTIVE:
        gated = any(flag.code.startswith(("gate", "not_approved")) for flag in answer.flags)
        return "info", translate("mode_not_approved" if gated else "mode_extractive", lang)
    if answer.mode == AnswerMode.REFUSED:
        return "warning", translate("mode_refused", lang)
    return "error", translate("mode_denied", lang)


def source_label(source: Source, *, lang: Lang, numbered: bool = True) -> str:
    """The one-line title of a source card (`numbered=False`: no [n], nothing cites it)."""
    parts = [f"[{source.n}] {source.title}" if numbered else source.title]
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
    original: Callable[[Source], OriginalFile | None],
    key: str,
    stream: bool = False,
    preview: Preview | None = None,
) -> None:
    """Banner, redaction note, verified sentences and source cards of one answer.

    `stream` writes the sentences one by one (`st.write_stream`) for an answer just returned;
    a rerun draws a stored answer at once. Either way the sentences are the verified ones of
    the returned Answer: nothing is shown while the model is still writing. `preview` finds a
    source's passage in its context (each card then offers "Show in context").
    """
    refused = answer.mode == AnswerMode.REFUSED
    if refused and answer.message:
        # The service's refusal names what the library lacks (issue #10 item 5); it can quote
        # the question's terms, so it is escaped like any other stored text.
        st.warning(escape_markdown(answer.message))
    else:
        kind, banner = mode_banner(answer, lang=lang)
        getattr(st, kind)(banner)
    redacted = sum(r.count for r in answer.redactions)
    if redacted:
        st.caption(translate("redacted", lang, n=redacted))
    if answer.message and not refused:
        st.markdown(escape_markdown(answer.message))
    if answer.conflicts and not refused:
        render_conflicts(answer.conflicts, lang=lang)
    if answer.sentences:
        chunks = answer_chunks(answer, lang=lang)
        if stream:
            st.write_stream(_paced(chunks))
        else:
            st.markdown("".join(chunks))
    if refused:
        # A refusal has no sources: what retrieval found is reading, not evidence for an answer.
        render_related(answer.related, lang=lang)
        return
    if answer.sources:
        st.markdown(f"**{translate('sources', lang)}**")
    for source in answer.sources:
        _render_source_card(
            source, answer=answer, lang=lang, original=original, key=key, preview=preview
        )


# ---- where guidelines differ (issue #17 §3) ---------------------------------------------------


def conflict_notice(conflict: GuidelineConflict, *, lang: Lang) -> str:
    """The plain-words notice above a conflict's sides: what differs, and that the answer does
    not choose between them."""
    subject = ("、" if lang == "zh" else ", ").join(conflict.subject)
    try:
        aspect = translate(f"aspect_{conflict.aspect}", lang)
    except KeyError:
        aspect = conflict.aspect
    return translate("conflict_notice", lang, subject=subject, aspect=aspect)


def conflict_side_lines(side: ConflictSide, *, lang: Lang) -> list[str]:
    """One side of a conflict as escaped Markdown lines: source, value, section, grade, date
    and the guideline's own sentence."""
    title = f"[{side.n}] {side.title}"
    if side.version:
        title += f" · {translate('version', lang)} {side.version}"
    lines = [
        f"**{escape_markdown(title)}**",
        f":red-badge[{escape_markdown(translate('conflict_value', lang))}\\: "
        f"{escape_markdown(side.quantity)}]",
    ]
    if side.section:
        lines.append(escape_markdown(f"{translate('section', lang)}: {side.section}"))
    if side.grade is not None:
        lines.append(
            f"{grade_badge(side.grade, lang=lang)} {grade_original(side.grade, lang=lang)}"
        )
    else:
        lines.append(f":gray-badge[{escape_markdown(translate('conflict_no_grade', lang))}]")
    if side.dated and side.date_kind == "effective":
        lines.append(escape_markdown(translate("conflict_effective", lang, date=side.dated)))
    elif side.dated:
        lines.append(escape_markdown(translate("conflict_ingested", lang, date=side.dated)))
    else:
        lines.append(escape_markdown(translate("conflict_no_date", lang)))
    lines.append(f"> {escape_markdown(side.sentence)}")
    return lines


def _population(name: str, *, lang: Lang) -> str:
    try:
        return translate(f"population_{name}", lang)
    except KeyError:
        return name


def render_conflicts(conflicts: list[GuidelineConflict], *, lang: Lang) -> None:
    """Each conflict as a notice and its sides in columns, one guideline per column."""
    for conflict in conflicts:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(translate('conflict_heading', lang))}**")
            st.warning(escape_markdown(conflict_notice(conflict, lang=lang)))
            if conflict.population:
                population = ("、" if lang == "zh" else ", ").join(
                    _population(name, lang=lang) for name in conflict.population
                )
                note = translate("conflict_population", lang, population=population)
                st.caption(escape_markdown(note))
            for column, side in zip(st.columns(len(conflict.sides)), conflict.sides, strict=True):
                with column:
                    st.markdown("  \n".join(conflict_side_lines(side, lang=lang)))


def render_related(related: list[Source], *, lang: Lang) -> None:
    """A refusal's nearest passages in one collapsed block that says it is not an answer."""
    if not related:
        return
    # Collapsed, and no source cards, ✓ or highlighting inside: nothing here reads as an
    # answer (issue #10 item 5). Expanders cannot nest, so each passage is a labelled quote.
    with st.expander(translate("related_reading", lang), expanded=False):
        st.caption(translate("related_note", lang))
        for source in related:
            label = source_label(source, lang=lang, numbered=False)
            st.markdown(f"**{escape_markdown(label)}**")
            if source.section:
                st.caption(escape_markdown(f"{translate('section', lang)}: {source.section}"))
            st.markdown(escape_markdown(source.text))


def _render_source_card(
    source: Source,
    *,
    answer: Answer,
    lang: Lang,
    original: Callable[[Source], OriginalFile | None],
    key: str,
    preview: Preview | None = None,
) -> None:
    citing = [s.text for s in answer.sentences if source.n in s.citations]
    with st.expander(escape_markdown(source_label(source, lang=lang))):
        meta = [f"{translate('section', lang)}: {source.section}" if source.section else ""]
        st.caption(escape_markdown(" · ".join(m for m in meta if m) or source.doc_id))
        if source.grade:
            # The original wording on hover and under the badge: its scale is the guideline's.
            wording = grade_original(source.grade, lang=lang)
            st.markdown(grade_badge(source.grade, lang=lang), help=wording)
            st.caption(wording)
        st.markdown(highlight_passage(source.text, citing))
        if preview is not None:
            _render_in_context(source, citing=citing, lang=lang, preview=preview, key=key)
        found = original(source)
        if found is None:
            st.caption(translate("original_missing", lang))
            return
        path = found.path
        if path.suffix.lower() == ".pdf" and source.page:
            _render_pdf_link(path, source=source, lang=lang, key=key)
        st.download_button(
            translate("download_original", lang),
            data=lambda: path.read_bytes(),
            # The name it was ingested under, not the stored content hash (issue 16 item 5).
            file_name=found.name,
            mime="application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream",
            key=f"orig-{key}-{source.n}",
            on_click="ignore",
            icon=":material/download:",
        )


def _render_in_context(
    source: Source, *, citing: list[str], lang: Lang, preview: Preview, key: str
) -> None:
    # Looked up only when asked for: five cards would otherwise cost five store reads a rerun.
    if not st.toggle(translate("show_in_context", lang), key=f"ctx-{key}-{source.n}"):
        return
    try:
        context = preview(source, citing)
    except AccessDenied:
        st.error(translate("context_denied", lang))
        return
    if context is None:
        st.caption(translate("context_missing", lang))
        return
    shown = context.version and context.version not in context.title
    version = translate("context_version", lang, version=context.version) if shown else ""
    with st.container(border=True):
        st.caption(escape_markdown(translate("context_of", lang, title=context.title,
                                             version=version)))  # fmt: skip
        section = ""
        for block in context.blocks:
            if block.section and block.section != section:
                st.markdown(f"**{escape_markdown(block.section)}**")
            section = block.section
            if block.cited:
                st.caption(escape_markdown(_cited_caption(block, lang=lang)))
            st.markdown(context_markdown(block))


def _cited_caption(block: PassageBlock, *, lang: Lang) -> str:
    page = block.page_label or (str(block.page) if block.page is not None else "")
    cited = f"▸ {translate('context_cited', lang)}"
    return f"{cited} · {translate('page', lang)} {page}" if page else cited


def context_markdown(block: PassageBlock) -> str:
    """One block of a passage's context as escaped Markdown, its cited sentences highlighted."""
    return highlight_spans(block.text, block.spans)


def _render_pdf_link(path: Path, *, source: Source, lang: Lang, key: str) -> None:
    # The PDF's bytes travel to the browser only for the card asked for, and only one card
    # at a time: an answer's five sources are often one 2 MB guideline.
    card = f"{key}-{source.n}"
    page = source.page or 1
    shown = source.page_label or str(page)
    if st.session_state.get(PDF_OPEN) != card:
        st.button(
            translate("open_original", lang, page=shown),
            key=f"pdf-{card}",
            icon=":material/open_in_new:",
            on_click=_want_pdf,
            args=(card,),
        )
        return
    label = translate("open_original_tab", lang, page=shown)
    st.iframe(pdf_link_html(path.read_bytes(), page=page, label=label), height=40, alt=label)


def _want_pdf(card: str) -> None:
    st.session_state[PDF_OPEN] = card


def pdf_link_html(data: bytes, *, page: int, label: str) -> str:
    """A self-contained HTML link that opens the PDF `data` at `page` in a new browser tab.

    Streamlit serves no per-user files, so the page builds a blob: URL from the bytes it
    carries and adds the `#page=N` fragment the browsers' PDF viewers honour. A PDF cannot be
    shown inline: the component's frame is sandboxed, and Chromium shows no PDF in a sandboxed
    frame; the link opens an unsandboxed tab (`allow-popups-to-escape-sandbox`).
    """
    if page < 1:
        raise ValueError(f"PDF pages count from 1, not {page}")
    encoded = json.dumps(base64.b64encode(data).decode("ascii"))
    return f"""<!doctype html><meta charset="utf-8">
<style>
body {{ margin: 0; padding: 2px 0; }}
a {{ display: inline-flex; align-items: center; gap: .4rem; padding: .3rem .75rem;
     border: 1px solid rgba(49, 51, 63, .2); border-radius: .5rem; color: #31333f;
     background: #fff; text-decoration: none; font-size: 14px;
     font-family: "Source Sans Pro", "Source Sans 3", "Noto Sans CJK SC", sans-serif; }}
a:hover {{ border-color: #ff4b4b; color: #ff4b4b; }}
a[aria-disabled="true"] {{ opacity: .5; pointer-events: none; }}
</style>
<a id="open" target="_blank" rel="noopener" aria-disabled="true">{html.escape(label)} ↗</a>
<script>
const raw = atob({encoded});
const bytes = new Uint8Array(raw.length);
for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
const link = document.getElementById("open");
link.href = URL.createObjectURL(new Blob([bytes], {{type: "application/pdf"}})) + "#page={page}";
link.removeAttribute("aria-disabled");
</script>
"""
