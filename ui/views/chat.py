"""Chat page: ask, see the verified answer with its sources, give feedback."""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from assistant import service
from assistant.domain import Answer, Principal
from assistant.errors import AccessDenied, GuideCiteError, InvalidInput
from assistant.privacy import redact_text
from ui.render import escape_markdown, render_answer
from ui.state import (
    FEEDBACK,
    HISTORY,
    AppResources,
    guard_page,
    lang,
    new_conversation,
    original_file,
    t,
)

logger = logging.getLogger(__name__)
ALL = "__all__"


def record_feedback(
    res: AppResources, principal: Principal, *, answer: Answer, helpful: bool, comment: str
) -> int | None:
    """Store 👍/👎 through the service; an audit event of our own until the service has one."""
    recorder: Any = getattr(service, "record_feedback", None)
    if recorder is not None:
        return int(
            recorder(
                principal, answer_id=answer.answer_id, helpful=helpful, comment=comment, ctx=res.ctx
            )
        )
    # The comment is free text a doctor types: redacted like a question before it is stored.
    event = res.ctx.audit.append_event(
        actor=principal.user,
        role=str(principal.role),
        department=principal.department,
        session_id=principal.session_id,
        action="feedback",
        object=f"answer:{answer.answer_id}",
        outcome="helpful" if helpful else "not_helpful",
        detail={
            "answer_id": answer.answer_id,
            "ask_event_id": answer.audit_event_id,
            "helpful": helpful,
            "comment": redact_text(comment).text if comment.strip() else "",
            "via": "web",
        },
    )
    return event.id


def _feedback(res: AppResources, principal: Principal, answer: Answer) -> None:
    given: dict[str, bool] = st.session_state.setdefault(FEEDBACK, {})
    if answer.answer_id in given:
        st.caption(t("feedback_thanks"))
        return
    with st.form(f"fb-{answer.answer_id}", border=False):
        comment = st.text_input(t("feedback_comment"), key=f"fbc-{answer.answer_id}")
        up, down, _ = st.columns([1, 1, 4])
        # Material icons ship with Streamlit; emoji need a colour-emoji font on the client.
        helpful = up.form_submit_button(t("helpful"), icon=":material/thumb_up:")
        unhelpful = down.form_submit_button(t("not_helpful"), icon=":material/thumb_down:")
    if helpful or unhelpful:
        record_feedback(res, principal, answer=answer, helpful=helpful, comment=comment)
        given[answer.answer_id] = helpful
        st.caption(t("feedback_thanks"))


def _show_turn(res: AppResources, principal: Principal, question: str, answer: Answer) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    with st.chat_message("assistant"):
        render_answer(
            answer,
            lang=lang(),
            original=lambda source: original_file(res, source),
            key=answer.answer_id,
        )
        _feedback(res, principal, answer)


def _ask(
    res: AppResources, principal: Principal, question: str, *, library: str | None
) -> Answer | None:
    history: list[tuple[str, Answer]] = st.session_state.setdefault(HISTORY, [])
    # Under the strict policy nothing is shown until every sentence is verified: the
    # progress says what is happening meanwhile (issue 5 item 3).
    with st.status(t("working"), expanded=False) as status:
        status.write(t("step_retrieving"))
        status.write(t("step_generating"))
        try:
            answer = service.answer_question(
                principal,
                question,
                ctx=res.ctx,
                library=library,
                history=[q for q, _ in history],
            )
        except (InvalidInput, AccessDenied) as exc:
            status.update(state="error")
            st.error(exc.user_message)
            return None
        except GuideCiteError as exc:
            logger.warning("answer failed: %s", type(exc).__name__)
            status.update(label=t("service_down"), state="error")
            st.error(exc.user_message)
            return None
        status.write(t("step_sources", n=len(answer.sources)))
        ok = sum(1 for s in answer.sentences if s.supported)
        status.write(t("step_verified", ok=ok, total=len(answer.sentences)))
        status.update(
            label=t("step_done", ms=round(answer.timings_ms.get("total", 0.0))), state="complete"
        )
    history.append((question, answer))
    return answer


def render() -> None:
    """The chat page."""
    guarded = guard_page("chat")
    if guarded is None:
        return
    res, principal = guarded
    readable = res.ctx.access.readable_libraries(principal)
    with st.sidebar:
        library = st.selectbox(
            t("library"),
            options=[ALL, *readable],
            format_func=lambda name: t("all_libraries") if name == ALL else name,
            key="gc_library",
        )
        if st.button(t("new_conversation"), key="gc_new_conversation", icon=":material/add:"):
            new_conversation()
            st.rerun()
    st.title(t("page_chat"))
    if not readable:
        st.warning(t("no_library"))
    for question, answer in list(st.session_state.get(HISTORY, [])):
        _show_turn(res, principal, question, answer)
    question = st.chat_input(t("ask_placeholder"), key="gc_question")
    if question:
        with st.chat_message("user"):
            st.markdown(escape_markdown(question))
        answer = _ask(res, principal, question, library=None if library == ALL else library)
        if answer is not None:
            with st.chat_message("assistant"):
                render_answer(
                    answer,
                    lang=lang(),
                    original=lambda source: original_file(res, source),
                    key=answer.answer_id,
                )
                _feedback(res, principal, answer)


render()
