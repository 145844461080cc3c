"""Review page: the queue of flagged answers of the reviewer's departments (issue 5 item 6).

Everything goes through `assistant.review`: it scopes the queue to the departments where the
reviewer holds the role, and audits opening an item (`review_view`), taking it and resolving it.
An item is opened once per selection and kept in the session, so a rerun of the page (any click)
does not write another `review_view` event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import streamlit as st

from assistant.domain import DroppedSentence, Principal, Refusal, ReviewItem, Source
from assistant.errors import AccessDenied, GuideCiteError, InvalidInput
from assistant.service.context import Context
from assistant.service.review import (
    DISPOSITIONS,
    FLAG_CODES,
    get_review_item,
    list_review_items,
    resolve_review_item,
    take_review_item,
)
from ui.render import (
    dropped_rows,
    escape_markdown,
    highlight_passage,
    sentence_markdown,
    source_label,
)
from ui.state import choose, guard_page, lang, t

ANY = "__any__"
UNRESOLVED = "__unresolved__"
STATUSES = (UNRESOLVED, ANY, "open", "in_review", "resolved")
OPENED = "gc_review_opened"  # (item id, ReviewItem) of the item on screen
# The last action's confirmation: (catalogue key, values). It stays until the reviewer's next
# action (a filter, another item, take or resolve), even once the item leaves the queue
# (issue 16 item 8).
NOTICE = "gc_review_notice"
SEVERITY_KIND = {"high": "error", "medium": "warning", "info": "info"}


def _status_label(status: str) -> str:
    if status == ANY:
        return t("any")
    if status == UNRESOLVED:
        return t("status_unresolved")
    return t(f"status_{status}")


def _since(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _clear_notice() -> None:
    st.session_state.pop(NOTICE, None)


def _show_notice() -> None:
    notice: tuple[str, dict[str, Any]] | None = st.session_state.get(NOTICE)
    if notice is None:
        return
    key, values = notice
    if "disposition" in values:
        values = {**values, "disposition": t(f"disposition_{values['disposition']}")}
    st.success(t(key, **values), icon=":material/task_alt:")


def _filters(departments: list[str]) -> dict[str, Any]:
    st.subheader(t("review_filters"))
    dept_col, flag_col, status_col, since_col = st.columns(4)
    with dept_col:
        department = choose(
            t("filter_department"),
            [ANY, *departments],
            format_func=lambda d: t("any") if d == ANY else d,
            key="gc_review_dept",
            on_change=_clear_notice,
        )
    with flag_col:
        flag = choose(
            t("filter_flag"),
            [ANY, *FLAG_CODES],
            format_func=lambda f: t("any") if f == ANY else f,
            key="gc_review_flag",
            on_change=_clear_notice,
        )
    with status_col:
        status = choose(
            t("filter_status"),
            list(STATUSES),
            format_func=_status_label,
            key="gc_review_status",
            on_change=_clear_notice,
        )
    since = since_col.date_input(
        t("filter_since"), value=None, key="gc_review_since", on_change=_clear_notice
    )
    return {
        "department": None if department == ANY else department,
        "flag": None if flag == ANY else flag,
        "status": None if status in (ANY, UNRESOLVED) else status,
        "unresolved": status == UNRESOLVED,
        "since": _since(since if isinstance(since, date) else None),
    }


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _queue_rows(items: list[ReviewItem]) -> list[dict[str, object]]:
    # st.table renders its cells as Markdown: everything stored is escaped (a question or a
    # model sentence must not become a link, an image or HTML).
    return [
        {
            t("col_id"): item.id,
            t("col_created"): _fmt_time(item.created_at),
            t("filter_department"): escape_markdown(item.department),
            t("col_status"): _status_label(item.status),
            t("col_flags"): escape_markdown(", ".join(item.flags)),
            t("col_assignee"): escape_markdown(item.assignee or ""),
            t("col_question"): escape_markdown(item.question[:80]),
        }
        for item in items
    ]


def _open_item(res: Context, principal: Principal, listed: ReviewItem) -> ReviewItem | None:
    opened = st.session_state.get(OPENED)
    # Reopen (and audit) only when another item is chosen or someone else changed this one.
    if opened is not None and opened[0] == listed.id and opened[1].updated_at == listed.updated_at:
        item: ReviewItem = opened[1]
        return item
    try:
        item = get_review_item(res, principal, listed.id or 0)
    except (AccessDenied, InvalidInput) as exc:
        st.error(exc.user_message)
        return None
    st.session_state[OPENED] = (listed.id, item)
    return item


def _show_answer(item: ReviewItem) -> None:
    language = lang()
    st.markdown(f"**{t('redacted_question')}**")
    st.markdown(escape_markdown(item.question))
    st.markdown(f"**{t('answer')}**")
    st.caption(t("answer_mode", mode=item.mode or "?"))
    if not item.sentences:
        st.info(t("no_sentences"))
    for sentence in item.sentences:
        st.markdown(sentence_markdown(sentence, lang=language))
    if item.sentences:
        st.markdown(f"**{t('verification')}**")
        ok = sum(1 for s in item.sentences if s.supported)
        st.caption(t("verification_summary", ok=ok, total=len(item.sentences)))
        st.table(
            [
                {
                    t("col_id"): number,
                    t("col_sentence"): escape_markdown(s.text),
                    t("col_citations"): " ".join(f"\\[{n}\\]" for n in s.citations),
                    t("col_supported"): "✓" if s.supported else "⚠",
                    t("col_score"): f"{s.support_score:.3f}",
                }
                for number, s in enumerate(item.sentences, start=1)
            ],
            hide_index=True,
        )
    _show_dropped(item)
    _show_sources(item)


def _show_dropped(item: ReviewItem) -> None:
    # What the doctor was not shown, and why (issue #10 item 1): the reviewer's view only.
    refusal = item.verification.get("refusal")
    if refusal:
        try:
            why = Refusal.model_validate(refusal)
        except ValueError:
            why = None
        if why is not None:
            missing = ", ".join(why.missing) or "—"
            st.caption(escape_markdown(t("refusal_detail", reason=why.reason, missing=missing)))
    dropped = []
    for raw in item.verification.get("dropped") or []:
        try:
            dropped.append(DroppedSentence.model_validate(raw))
        except ValueError:
            continue
    if not dropped:
        return
    st.markdown(f"**{t('dropped')}**")
    st.table(dropped_rows(dropped, lang=lang()), hide_index=True)


def _show_sources(item: ReviewItem) -> None:
    language = lang()
    sources = []
    for raw in item.sources:
        try:
            sources.append(Source.model_validate(raw))
        except ValueError:  # an item stored before a field was added: show what there is
            continue
    if not sources:
        return
    # A refusal's passages were offered as related reading, not as the answer's sources.
    heading = "related_reading" if item.mode == "refused" else "sources"
    st.markdown(f"**{t(heading)}**")
    for source in sources:
        citing = [s.text for s in item.sentences if source.n in s.citations]
        with st.expander(escape_markdown(source_label(source, lang=language))):
            if source.section:
                st.caption(escape_markdown(f"{t('section')}: {source.section}"))
            st.markdown(highlight_passage(source.text, citing))


def _show_flags_and_feedback(item: ReviewItem) -> None:
    st.markdown(f"**{t('flags')}**")
    for flag in item.flag_details:
        severity = flag.severity or "medium"
        text = f"{flag.code} ({t(f'severity_{severity}')})"
        if flag.detail:
            text += f": {flag.detail}"
        getattr(st, SEVERITY_KIND.get(severity, "warning"))(escape_markdown(text))
    st.markdown(f"**{t('feedback')}**")
    if not item.feedback:
        st.caption(t("no_feedback"))
    for entry in item.feedback:
        verdict = t("helpful") if entry.get("helpful") else t("not_helpful")
        line = t(
            "feedback_line",
            by=entry.get("by", "?"),
            ts=str(entry.get("ts_utc", ""))[:16],
            verdict=verdict,
            comment=entry.get("comment") or "—",
        )
        st.markdown(escape_markdown(line))


def _actions(res: Context, principal: Principal, item: ReviewItem) -> None:
    assert item.id is not None  # stored items always have one
    if item.status == "resolved":
        st.success(
            t(
                "resolved_as",
                disposition=t(f"disposition_{item.disposition}"),
                by=item.resolved_by or "?",
            )
        )
        if item.comment:
            st.markdown(escape_markdown(item.comment))
        return
    if item.assignee != principal.user and st.button(
        t("take_item"), key=f"gc_take_{item.id}", icon=":material/assignment_ind:"
    ):
        _apply(lambda: take_review_item(res, principal, item.id or 0), notice=("taken", {}))
    with st.form(f"gc_resolve_{item.id}"):
        st.markdown(f"**{t('resolve_item')}**")
        # No default: the reviewer chooses a disposition (issue 16 item 8).
        disposition = st.radio(
            t("disposition"),
            options=list(DISPOSITIONS),
            format_func=lambda d: t(f"disposition_{d}"),
            horizontal=True,
            index=None,
            key=f"gc_disposition_{item.id}",
        )
        comment = st.text_area(t("review_comment"), key=f"gc_review_comment_{item.id}")
        submitted = st.form_submit_button(t("resolve_item"), icon=":material/task_alt:")
    if not submitted:
        return
    _clear_notice()
    missing = [
        key
        for key, absent in (
            ("disposition_required", disposition is None),
            ("comment_required", not comment.strip()),
        )
        if absent
    ]
    for key in missing:
        st.error(t(key))
    if missing or disposition is None:
        return
    chosen: str = disposition
    _apply(
        lambda: resolve_review_item(
            res, principal, item.id or 0, disposition=chosen, comment=comment
        ),
        notice=("resolved_notice", {"id": item.id, "disposition": chosen}),
    )


def _apply(change: Any, *, notice: tuple[str, dict[str, Any]]) -> None:
    _clear_notice()
    try:
        updated: ReviewItem = change()
    except (AccessDenied, InvalidInput) as exc:
        st.error(exc.user_message)
        return
    st.session_state[OPENED] = (updated.id, updated)
    st.session_state[NOTICE] = notice
    st.rerun()


def render() -> None:
    """The review page."""
    guarded = guard_page("review")
    if guarded is None:
        return
    res, principal = guarded
    st.title(t("page_review"))
    _show_notice()
    try:
        everything = list_review_items(res, principal)
        departments = sorted({i.department for i in everything})
        chosen = _filters(departments)
        unresolved = chosen.pop("unresolved")
        items = list_review_items(res, principal, **chosen)
        if unresolved:
            items = [i for i in items if i.status != "resolved"]
        if not items:
            st.info(t("review_empty"))
            return
        st.caption(t("review_count", n=len(items)))
        # A static HTML table, not the canvas grid: its text is in the page, so it shows
        # in every browser, in screenshots and to screen readers, and long questions wrap.
        st.table(_queue_rows(items), hide_index=True)
        by_id = {i.id: i for i in items if i.id is not None}
        item_id = choose(
            t("review_pick"),
            list(by_id),
            format_func=lambda i: (
                f"#{i} · {by_id[i].department} · {_status_label(by_id[i].status)} · "
                f"{', '.join(by_id[i].flags)} · {by_id[i].question[:40]}"
            ),
            key="gc_review_pick",
            on_change=_clear_notice,
        )
        if item_id is None:
            return
        item = _open_item(res, principal, by_id[item_id])
        if item is None:
            return
        st.divider()
        st.subheader(
            t(
                "item_heading",
                id=item.id,
                department=item.department,
                status=_status_label(item.status),
            )
        )
        st.caption(
            t(
                "item_meta",
                asked_by=item.asked_by or "?",
                created=_fmt_time(item.created_at),
                assignee=item.assignee or t("nobody"),
            )
        )
        answer_col, side_col = st.columns([3, 2])
        with answer_col:
            _show_answer(item)
        with side_col:
            _show_flags_and_feedback(item)
            _actions(res, principal, item)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
