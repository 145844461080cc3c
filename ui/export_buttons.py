"""Copy and download of one answer, under it on the chat page (issue 16 item 4).

The files are made by `assistant.service.export` only when asked for: a download button holds a
callable that Streamlit runs when it is clicked, and "Copy" exports when pressed, then shows
the Markdown in a code block whose copy icon puts it on the clipboard. Every export is audited
by the service; a page only offers what the service would allow right now (a grant revoked
since the answer was shown hides the buttons — the service checks again anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from assistant.domain import Answer, Principal
from assistant.errors import GuideCiteError
from assistant.service import export
from assistant.service.context import Context
from ui.i18n import Lang
from ui.state import lang, t

logger = logging.getLogger(__name__)
COPIED = "gc_export_copied"  # answer id → its Markdown, once "Copy" was pressed


def _deferred(
    res: Context, principal: Principal, answer: Answer, *, fmt: export.ExportFormat, language: Lang
) -> Callable[[], bytes]:
    """The file, made (and audited) when the download button is clicked."""

    def make() -> bytes:
        try:
            return export.export_answer(res, principal, answer, fmt=fmt, lang=language).data
        except GuideCiteError as exc:
            # Runs off the page's thread: Streamlit shows the message of what is raised here.
            logger.warning("answer export refused: %s", type(exc).__name__)
            raise RuntimeError(exc.user_message) from None

    return make


def render_export(res: Context, principal: Principal, answer: Answer) -> None:
    """ "Copy as Markdown", "Download Markdown" and "Download PDF" under one answer."""
    if answer.audit_event_id is None:
        return  # never recorded: nothing the quality team could trace
    if not export.may_export(res, principal, answer):
        st.caption(t("export_unavailable"))
        return
    language = lang()
    key = answer.answer_id
    copied: dict[str, str] = st.session_state.setdefault(COPIED, {})
    copy, markdown, pdf, _ = st.columns([1.3, 1.3, 1.1, 1], gap="small")
    if copy.button(
        t("export_copy"), key=f"gc_copy_{key}", icon=":material/content_copy:", type="tertiary"
    ):
        try:
            made = export.export_answer(
                res, principal, answer, fmt="md", lang=language, channel="copy"
            )
        except GuideCiteError as exc:
            st.error(exc.user_message)
            copied.pop(key, None)
        else:
            copied[key] = made.data.decode("utf-8")
    formats: list[tuple[DeltaGenerator, export.ExportFormat]] = [(markdown, "md"), (pdf, "pdf")]
    for column, fmt in formats:
        column.download_button(
            t(f"export_{fmt}"),
            data=_deferred(res, principal, answer, fmt=fmt, language=language),
            file_name=export.export_filename(answer, fmt=fmt),
            mime=export.MIME[fmt],
            key=f"gc_download_{fmt}_{key}",
            help=t("export_help"),
            icon=":material/download:",
            type="tertiary",
            on_click="ignore",  # nothing on the page changes: no rerun
        )
    if key in copied:
        with st.expander(t("export_copy_ready"), expanded=True):
            st.caption(t("export_copy_hint"))
            st.code(copied[key], language="markdown", wrap_lines=True)
