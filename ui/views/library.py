"""Library page: upload guideline files into a library, list versions, delete with confirmation."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from assistant.domain import CJK_CHARS, Principal
from assistant.errors import GuideCiteError
from assistant.service.admin import libraries_managed_by
from assistant.service.context import Context
from ingestion.as_principal import delete_document_as_principal, ingest_as_principal
from ingestion.documents import document_json, list_documents
from ingestion.parse import SUPPORTED_EXTENSIONS
from ingestion.service import Ingestor
from ui.state import guard_page, t

_UNSAFE_NAME = re.compile(rf"[^\w.\-{CJK_CHARS}（）()]+")


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
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
