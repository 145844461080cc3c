"""Library page: upload guideline files into a library, list versions, delete with confirmation,
and what changed between two editions of a guideline (issue #17 §2)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from assistant.domain import Change, DocumentDiff, DocumentVersion, Principal
from assistant.errors import GuideCiteError
from assistant.language import CJK_CHARS
from assistant.service.admin import libraries_managed_by
from assistant.service.context import Context
from ingestion.as_principal import (
    delete_document_as_principal,
    diff_document_as_principal,
    ingest_as_principal,
)
from ingestion.documents import document_json, list_documents
from ingestion.parse import SUPPORTED_EXTENSIONS
from ingestion.service import Ingestor
from ui.render import escape_markdown
from ui.state import guard_page, t

_UNSAFE_NAME = re.compile(rf"[^\w.\-{CJK_CHARS}（）()]+")
# `ingestion.diff.inline_diff` marks an edit as `[-old-]{+new+}`.
_INLINE_EDIT = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.DOTALL)


def _safe_name(name: str) -> str:
    # An uploaded file's name is the browser's word: keep it only as a plain base name.
    base = Path(name).name
    return _UNSAFE_NAME.sub("_", base).lstrip(".") or "upload"


def _upload(res: Context, principal: Principal, libraries: list[str] | None) -> None:
    st.subheader(t("upload"))
    st.caption(t("supersede_hint"))
    if libraries is None:
        known = sorted({d.library for d in list_documents(res.store)} | {"hospital"})
        library = st.selectbox(t("target_library"), options=known, accept_new_options=True)
    else:
        library = st.selectbox(t("target_library"), options=libraries)
    files = st.file_uploader(
        t("upload"),
        type=sorted(ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS),
        accept_multiple_files=True,
        key="gc_upload",
        label_visibility="collapsed",
    )
    if not st.button(t("ingest"), disabled=not files or not library, type="primary"):
        return
    assert files and library
    bar = st.progress(0.0)
    with tempfile.TemporaryDirectory(prefix="guidecite-upload-") as tmp:
        paths = []
        for uploaded in files:
            path = Path(tmp) / _safe_name(uploaded.name)
            path.write_bytes(uploaded.getvalue())
            paths.append(path)

        def on_progress(_event: str, path: Path, done: int, total: int) -> None:
            text = t("ingesting", name=path.name, done=done, total=total)
            bar.progress(done / total if total else 1.0, text=text)

        ingestor = Ingestor(
            res.settings,
            store=res.store,
            embedder=res.embedder,
            sparse=res.sparse,
            audit=res.audit,
            actor=f"web:{principal.user}",
        )
        # The service checks the library again and audits under the person's name.
        report = ingest_as_principal(
            principal,
            paths,
            library=library,
            ingestor=ingestor,
            access=res.access,
            progress=on_progress,
        )
    st.success(t("ingest_done", docs=len(report.documents), chunks=report.chunks_added))
    for failed in report.failed:
        st.error(t("ingest_failed", name=Path(failed.path).name, error=failed.error))


def _documents(res: Context, principal: Principal, libraries: list[str] | None) -> None:
    st.subheader(t("documents"))
    docs = [d for d in list_documents(res.store) if libraries is None or d.library in libraries]
    if not docs:
        st.info(t("no_documents"))
        return
    st.dataframe([document_json(d) for d in docs], hide_index=True, width="stretch")
    st.subheader(t("delete_document"))
    doc_ids = sorted({d.doc_id for d in docs})
    with st.form("gc_delete"):
        doc_id = st.selectbox(t("documents"), options=doc_ids)
        confirmed = st.checkbox(t("delete_confirm"))
        submitted = st.form_submit_button(t("delete"))
    if not (submitted and confirmed and doc_id):
        return
    removed = delete_document_as_principal(
        principal,
        doc_id,
        store=res.store,
        settings=res.settings,
        access=res.access,
        audit=res.audit,
    )
    st.success(t("deleted", doc=doc_id, n=removed))


# ---- what changed between editions (issue #17 §2) --------------------------------------------


def inline_markdown(inline: str) -> str:
    """An inline word diff as escaped Markdown: removed words struck through on red, added
    ones bold on green, the rest as written."""
    out: list[str] = []
    cursor = 0
    for match in _INLINE_EDIT.finditer(inline):
        out.append(escape_markdown(inline[cursor : match.start()]))
        removed, added = match.group(1), match.group(2)
        if removed is not None:
            out.append(f":red-background[~~{escape_markdown(removed)}~~]")
        else:
            out.append(f":green-background[**{escape_markdown(added or '')}**]")
        cursor = match.end()
    out.append(escape_markdown(inline[cursor:]))
    return "".join(out)


def change_markdown(change: Change) -> str:
    """One change as escaped Markdown: a coloured label, the text, and for an edit the
    numbers, doses, durations and grades that differ as badges."""
    if change.kind == "added":
        return f":green-badge[{t('diff_added')}] :green[{escape_markdown(change.after)}]"
    if change.kind == "removed":
        return f":red-badge[{t('diff_removed')}] :red[~~{escape_markdown(change.before)}~~]"
    if change.kind == "moved":
        origin = " > ".join(change.moved_from or []) or t("diff_no_section")
        note = escape_markdown(t("diff_moved_from", origin=origin))
        return f":blue-badge[{t('diff_moved')}] {escape_markdown(change.after)}  \n*{note}*"
    lines = [f":orange-badge[{t('diff_changed')}] {inline_markdown(change.inline)}"]
    if change.quantities:
        badges = " ".join(f":orange-badge[{escape_markdown(q.label())}]" for q in change.quantities)
        lines.append(f"{t('diff_quantities')}: {badges}")
    if change.grades:
        badges = " ".join(f":violet-badge[{escape_markdown(g.label())}]" for g in change.grades)
        lines.append(f"{t('diff_grades')}: {badges}")
    return "  \n".join(lines)


def _version_label(version: DocumentVersion) -> str:
    day = version.ingested_at.date().isoformat() if version.ingested_at else ""
    label = version.version or version.content_sha256[:12]
    try:
        status = t(f"edition_{version.status}")
    except KeyError:
        status = str(version.status)
    return f"{label} · {status} · {day}" if day else f"{label} · {status}"


def render_diff(diff: DocumentDiff) -> None:
    """A document diff, section by section."""
    before, after = diff.before, diff.after
    st.markdown(
        f"**{escape_markdown(after.title or after.doc_id)}** · "
        + escape_markdown(
            t(
                "diff_versions",
                before=before.version or before.content_sha256[:12],
                after=after.version or after.content_sha256[:12],
            )
        )
    )
    st.caption(t("diff_summary", **diff.summary()))
    if not diff.sections:
        st.info(t("diff_no_change"))
    for section in diff.sections:
        heading = " > ".join(section.path) or t("diff_no_section")
        note = ""
        if section.status == "added":
            note = f" ({t('diff_section_added')})"
        elif section.status == "removed":
            note = f" ({t('diff_section_removed')})"
        elif section.previous_path is not None:
            note = f" ({t('diff_section_renamed', previous=' > '.join(section.previous_path))})"
        st.markdown(f"#### {escape_markdown(heading + note)}")
        for change in section.changes:
            st.markdown(change_markdown(change))


def _what_changed(res: Context, principal: Principal, libraries: list[str] | None) -> None:
    st.subheader(t("diff_heading"))
    docs = [d for d in list_documents(res.store) if libraries is None or d.library in libraries]
    versions: dict[str, list[DocumentVersion]] = {}
    for doc in docs:
        versions.setdefault(doc.doc_id, []).append(doc)
    editions = {doc_id: found for doc_id, found in versions.items() if len(found) > 1}
    if not editions:
        st.info(t("diff_none"))
        return
    st.caption(t("diff_hint"))
    titles = {doc_id: f"{found[0].title} ({doc_id})" for doc_id, found in editions.items()}
    doc_id = st.selectbox(
        t("diff_document"),
        options=sorted(editions),
        format_func=lambda d: titles[d],
        key="gc_diff_doc",
    )
    if doc_id is None:
        return
    # Newest first: the default pair is the current edition against the one before it.
    found = editions[doc_id]
    labels = {v.content_sha256: _version_label(v) for v in found}
    left, right = st.columns(2)
    to_sha = right.selectbox(
        t("diff_to"),
        options=list(labels),
        format_func=lambda sha: labels[sha],
        key=f"gc_diff_to_{doc_id}",
    )
    from_sha = left.selectbox(
        t("diff_from"),
        options=[sha for sha in labels if sha != to_sha],
        format_func=lambda sha: labels[sha],
        key=f"gc_diff_from_{doc_id}",
    )
    if to_sha is None or from_sha is None:
        return
    diff = diff_document_as_principal(
        principal,
        doc_id,
        store=res.store,
        access=res.access,
        audit=res.audit,
        from_version=from_sha,
        to_version=to_sha,
    )
    render_diff(diff)


def render() -> None:
    """The library page."""
    guarded = guard_page("library")
    if guarded is None:
        return
    res, signed_in = guarded
    principal = signed_in.model_copy(update={"via": "web"})
    st.title(t("page_library"))
    libraries = libraries_managed_by(res, principal)
    try:
        _upload(res, principal, libraries)
        _documents(res, principal, libraries)
        _what_changed(res, principal, libraries)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
