"""Chat page: ask, see the verified answer with its sources, give feedback."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from assistant.domain import (
    Answer,
    AnswerMode,
    Conversation,
    OriginalFile,
    PassageContext,
    Principal,
    Source,
    Strength,
)
from assistant.errors import AccessDenied, GuideCiteError, InvalidInput
from assistant.service import ask as service
from assistant.service import conversations, feedback, passages
from assistant.service.ask import ProgressFn
from assistant.service.context import Context
from ui.export_buttons import render_export
from ui.render import escape_markdown, render_answer, source_label
from ui.state import (
    CONVERSATION,
    FEEDBACK,
    GUIDELINE_NOTES,
    HISTORY,
    choose,
    guard_page,
    lang,
    new_conversation,
    show_conversation,
    t,
)

logger = logging.getLogger(__name__)
ALL = "__all__"
LIBRARY = "gc_library"  # the chosen library, whichever language's selector chose it
STRENGTH = "gc_strength"  # the recommendation strength answers draw on (issue #17 §1)
ANY_STRENGTH = "any"
DRAFT = "gc_draft"  # an over-long question kept for shortening: never cut (issue 16 item 2)
IDENTIFIERS_NOTED = "gc_identifiers_noted"
DRAFT_TEXT = "gc_draft_text"
CONFIRM_DELETE = "gc_conv_confirm_delete"  # the conversation whose deletion awaits a yes
LISTED_CONVERSATIONS = 30


def record_feedback(
    res: Context, principal: Principal, *, answer: Answer, helpful: bool, comment: str
) -> int:
    """Store 👍/👎 on one of the principal's answers through the service (audited, redacted)."""
    event_id = feedback.record_feedback(
        principal, answer_id=answer.answer_id, helpful=helpful, comment=comment, ctx=res
    )
    # Kept with the stored turn too, so the reopened answer does not ask again.
    conversations.note_feedback(res, principal, answer_id=answer.answer_id, helpful=helpful)
    return event_id


def _feedback(res: Context, principal: Principal, answer: Answer) -> None:
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
        try:
            record_feedback(res, principal, answer=answer, helpful=helpful, comment=comment)
        except (InvalidInput, AccessDenied) as exc:
            st.error(exc.user_message)
            return
        given[answer.answer_id] = helpful
        st.caption(t("feedback_thanks"))


def _readable_original(
    res: Context, principal: Principal
) -> Callable[[Source], OriginalFile | None]:
    """The stored original of a source, only from a library the principal may read right now."""
    readable = set(service.readable_libraries(res, principal))

    def original(source: Source) -> OriginalFile | None:
        # An answer kept in the session outlives a revoked grant: check again on every run.
        return passages.original_document(res, source) if source.library in readable else None

    return original


def _passage_preview(
    res: Context, principal: Principal
) -> Callable[[Source, list[str]], PassageContext | None]:
    """A source's passage in its context; the service checks the grant again (issue 16 item 5)."""

    def preview(source: Source, sentences: list[str]) -> PassageContext | None:
        return passages.passage_context(res, principal, source, sentences=sentences)

    return preview


def _show_answer(
    res: Context, principal: Principal, answer: Answer, *, stream: bool = False
) -> None:
    with st.chat_message("assistant"):
        render_answer(
            answer,
            lang=lang(),
            original=_readable_original(res, principal),
            key=answer.answer_id,
            stream=stream,
            preview=_passage_preview(res, principal),
        )
        _feedback(res, principal, answer)
        render_export(res, principal, answer)


def _source_list(sources: list[Source]) -> str:
    language = lang()
    return "\n".join(f"- {escape_markdown(source_label(s, lang=language))}" for s in sources)


def _verified_line(answer: Answer) -> str:
    ok = sum(1 for s in answer.sentences if s.supported)
    return t("step_verified", ok=ok, total=len(answer.sentences))


def _outcome_line(answer: Answer) -> str:
    """How the answer ended: sentences verified, or for a refusal that nothing answers."""
    if answer.mode != AnswerMode.REFUSED:
        return _verified_line(answer)
    # A refusal's passages are related reading, never "sources" (issue #10 item 5).
    return t("step_none_answers") if answer.related else t("step_sources", n=0)


def _done_label(answer: Answer) -> str:
    return t("step_done", ms=round(answer.timings_ms.get("total", 0.0)))


def _show_done(answer: Answer) -> None:
    """An earlier turn's finished status, in the place its live progress had.

    The elements after it keep their places, so a rerun leaves source cards open or closed.
    """
    with st.status(_done_label(answer), state="complete", expanded=False):
        if answer.mode == AnswerMode.REFUSED:
            st.write(_outcome_line(answer))
            return
        st.write(t("step_sources", n=len(answer.sources)))
        if answer.sources:
            st.markdown(_source_list(answer.sources))
        st.write(_verified_line(answer))


def _show_progress(status: Any) -> ProgressFn:
    """A `progress` callback for answer_question that narrates its stages in `status`."""

    def report(stage: str, detail: dict[str, Any]) -> None:
        if stage == "retrieving":
            status.update(label=t("step_retrieving"), expanded=True)
            status.write(t("step_retrieving"))
        elif stage == "sources":
            sources: list[Source] = detail.get("sources", [])
            status.update(label=t("step_sources", n=len(sources)), expanded=True)
            status.write(t("step_sources", n=len(sources)))
            if sources:
                status.markdown(_source_list(sources))
            if not detail.get("relevant", True):
                status.write(t("step_not_relevant"))
        elif stage == "generating":
            # "The model is thinking" only when a model is really called.
            step = t("step_model") if detail.get("model") else t("step_passages")
            status.update(label=step, expanded=True)
            status.write(step)
        elif stage == "verifying":
            step = t("step_verifying", n=detail.get("sentences", 0))
            status.update(label=step, expanded=True)
            status.write(step)

    return report


def _ask(
    res: Context,
    principal: Principal,
    question: str,
    *,
    shown: str,
    library: str | None,
    strength: Strength | None = None,
) -> Answer | None:
    history: list[tuple[str, Answer]] = st.session_state.setdefault(HISTORY, [])
    # Progress, never answer text: the answer is shown only once returned, every sentence
    # verified (issue 5 item 3).
    with st.status(t("working"), expanded=True) as status:
        try:
            answer = service.answer_question(
                principal,
                question,
                ctx=res,
                library=library,
                history=[q for q, _ in history],
                progress=_show_progress(status),
                strength=strength,
            )
        except (InvalidInput, AccessDenied) as exc:
            status.update(state="error", expanded=False)
            st.error(exc.user_message)
            return None
        except GuideCiteError as exc:
            logger.warning("answer failed: %s", type(exc).__name__)
            status.update(label=t("service_down"), state="error", expanded=False)
            st.error(exc.user_message)
            return None
        status.write(_outcome_line(answer))
        status.update(label=_done_label(answer), state="complete", expanded=False)
    # Kept as shown: with placeholders, never the identifiers typed (issue 16 item 3).
    history.append((shown, answer))
    _keep_turn(res, principal, shown, answer)
    return answer


def _keep_turn(res: Context, principal: Principal, shown: str, answer: Answer) -> None:
    """Store the answered question in the current conversation (issue 16 item 1)."""
    try:
        conversations.append_turn(
            res,
            principal,
            conversation_id=st.session_state.get(CONVERSATION, principal.session_id),
            question=shown,
            answer=answer,
        )
    except AccessDenied:
        # Deleted from another tab meanwhile: the answer stands, the conversation is gone.
        st.warning(t("conversation_not_kept"))
    except GuideCiteError as exc:
        logger.warning("conversation not stored: %s", type(exc).__name__)
        st.warning(t("conversation_not_kept"))


# ---- the sidebar's conversation list (issue 16 item 1) --------------------------------------


def _conversation_label(conversation: Conversation) -> str:
    day = conversation.updated_at.astimezone(UTC).strftime("%Y-%m-%d")
    return t("conversation_item", title=escape_markdown(conversation.title), date=day)


def _conversation_list(res: Context, principal: Principal) -> None:
    """The person's stored conversations, newest first; a click reopens one."""
    current = st.session_state.get(CONVERSATION)
    listed = conversations.list_conversations(res, principal)
    st.markdown(f"**{t('conversations')}**")
    if not listed:
        st.caption(t("conversations_none"))
    for conversation in listed[:LISTED_CONVERSATIONS]:
        chosen = st.button(
            _conversation_label(conversation),
            key=f"gc_conv_open_{conversation.id}",
            type="secondary" if conversation.id == current else "tertiary",
            icon=":material/update:" if conversation.guideline_updated else None,
            help=t("conversation_guideline_updated") if conversation.guideline_updated else None,
            width="stretch",
        )
        if chosen and conversation.id != current:
            st.session_state.pop(CONFIRM_DELETE, None)
            show_conversation(res, principal, conversation.id)
            st.rerun()
    stored = next((c for c in listed if c.id == current), None)
    if stored is not None:
        _manage_conversation(res, principal, stored)


def _manage_conversation(res: Context, principal: Principal, conversation: Conversation) -> None:
    """Rename or delete the open conversation (its owner's; both audited by the service)."""
    with st.expander(t("conversation_manage"), icon=":material/edit:"):
        title = st.text_input(
            t("conversation_title"),
            value=conversation.title,
            key=f"gc_conv_title_{conversation.id}",
            max_chars=conversations.MAX_TITLE_CHARS,
        )
        if st.button(t("conversation_rename"), key="gc_conv_rename"):
            try:
                conversations.rename_conversation(res, principal, conversation.id, title=title)
            except InvalidInput:
                st.error(t("conversation_title_empty"))
                return
            except AccessDenied:
                st.error(t("conversation_not_yours"))
                return
            st.rerun()
        if st.session_state.get(CONFIRM_DELETE) != conversation.id:
            if st.button(t("conversation_delete"), key="gc_conv_delete", icon=":material/delete:"):
                st.session_state[CONFIRM_DELETE] = conversation.id
                st.rerun()
            return
        st.warning(t("conversation_delete_confirm", title=escape_markdown(conversation.title)))
        yes, no = st.columns(2)
        if yes.button(t("conversation_delete_yes"), key="gc_conv_delete_yes", type="primary"):
            st.session_state.pop(CONFIRM_DELETE, None)
            with contextlib.suppress(AccessDenied):  # already deleted from another tab
                conversations.delete_conversation(res, principal, conversation.id)
            new_conversation()
            st.rerun()
        if no.button(t("conversation_delete_no"), key="gc_conv_delete_no"):
            st.session_state.pop(CONFIRM_DELETE, None)
            st.rerun()


def _choose_library(readable: list[str]) -> str:
    """The sidebar's library selector, in the UI language, keeping the choice across a switch."""
    library = choose(
        t("library"),
        [ALL, *readable],
        key=LIBRARY,
        format_func=lambda name: t("all_libraries") if name == ALL else name,
    )
    return library or ALL


def _choose_strength() -> Strength | None:
    """The sidebar's recommendation-strength filter: answers draw only on passages graded so."""
    chosen = choose(
        t("strength_filter"),
        [ANY_STRENGTH, *(s.value for s in Strength)],
        key=STRENGTH,
        format_func=lambda v: t("strength_any") if v == ANY_STRENGTH else t(f"grade_{v}"),
    )
    return None if chosen in (None, ANY_STRENGTH) else Strength(chosen)


# A live counter under the chat input from 80 % of the limit (issue 16 item 2): the typed text
# stays in the browser until sent, so only the browser can count it as it is typed. The script
# reads the length only; the page refuses an over-long question when it arrives.
COUNTER_SCRIPT = """<script>
const doc = window.parent.document;
doc.gcCounter = {limit: LIMIT, text: TEXT, over: OVER};
function update(area) {
  const counter = doc.getElementById("gc-question-counter");
  if (!counter) return;
  const n = Array.from(area.value.trim()).length;
  const c = doc.gcCounter;
  counter.textContent = n < 0.8 * c.limit ? "" : (n > c.limit ? c.over : c.text)
    .replace("{n}", n).replace("{limit}", c.limit).replace("{over}", n - c.limit);
  counter.style.color = n > c.limit ? "#d93025" : "inherit";
}
function attach() {
  const area = doc.querySelector('textarea[data-testid="stChatInputTextArea"]');
  if (!area) return;
  if (!doc.getElementById("gc-question-counter")) {
    const counter = doc.createElement("div");
    counter.id = "gc-question-counter";
    counter.setAttribute("aria-live", "polite");
    counter.style.cssText = "font-size:0.8rem;text-align:right;padding:0 0.5rem;";
    area.closest('[data-testid="stChatInput"]').after(counter);
  }
  // One listener, owned by the newest script (an older one's frame may be gone).
  if (doc.gcCounterArea !== area || doc.gcCounterOwner !== window) {
    if (doc.gcCounterArea) doc.gcCounterArea.removeEventListener("input", doc.gcCounterListener);
    doc.gcCounterListener = () => update(area);
    area.addEventListener("input", doc.gcCounterListener);
    doc.gcCounterArea = area;
    doc.gcCounterOwner = window;
  }
  update(area);
}
attach();
setInterval(attach, 1000);
</script>"""


def _question_counter(limit: int) -> None:
    script = (
        COUNTER_SCRIPT.replace("LIMIT", str(limit))
        .replace("TEXT", json.dumps(t("question_chars", n="{n}", limit="{limit}")))
        .replace(
            "OVER", json.dumps(t("question_too_long", n="{n}", limit="{limit}", over="{over}"))
        )
    )
    components.html(script, height=0)


def _question_chars(text: str) -> int:
    # The service's own count (invisible and control characters do not count), so the page
    # refuses exactly what `answer_question` would.
    return len(service.visible_text(text))


def _accept(res: Context, submitted: str) -> str | None:
    """The submitted question when it can be asked; else say why, in the UI language only.

    Refused here, before the service is called: nothing is processed, so nothing is audited.
    The service still checks (and audits) every question that reaches it.
    """
    chars = _question_chars(submitted)
    if chars == 0:
        st.error(t("question_empty"))
        return None
    if chars > res.settings.max_question_chars:
        st.session_state[DRAFT] = submitted
        st.session_state[DRAFT_TEXT] = submitted
        return None
    st.session_state.pop(DRAFT, None)
    return submitted


def _edit_draft(res: Context) -> str | None:
    """A refused over-long question, kept whole for shortening, with a character counter."""
    if DRAFT not in st.session_state:
        return None
    # The buttons are read before the box is drawn, so a question sent leaves no box behind.
    if st.session_state.get("gc_draft_discard"):
        st.session_state.pop(DRAFT, None)
        st.session_state.pop(DRAFT_TEXT, None)
        return None
    if st.session_state.get("gc_draft_send"):
        question = _accept(res, st.session_state.get(DRAFT_TEXT, ""))
        if question is not None:
            st.session_state.pop(DRAFT_TEXT, None)
            return question
    limit = res.settings.max_question_chars
    with st.container(border=True, key="gc_draft_box"):
        text = st.text_area(t("question_draft"), key=DRAFT_TEXT, height=200)
        chars = _question_chars(text)
        if chars > limit:
            st.error(t("question_too_long", n=chars, limit=limit, over=chars - limit))
        else:
            st.caption(t("question_chars", n=chars, limit=limit))
        send, discard, _ = st.columns([1, 1, 3])
        send.button(
            t("send_question"),
            key="gc_draft_send",
            icon=":material/send:",
            disabled=not 0 < chars <= limit,
        )
        discard.button(t("discard_question"), key="gc_draft_discard")
    return None


def render() -> None:
    """The chat page."""
    guarded = guard_page("chat")
    if guarded is None:
        return
    res, principal = guarded
    readable = service.readable_libraries(res, principal)
    with st.sidebar:
        library = _choose_library(readable)
        strength = _choose_strength()
        if st.button(t("new_conversation"), key="gc_new_conversation", icon=":material/add:"):
            st.session_state.pop(CONFIRM_DELETE, None)
            new_conversation()
            st.rerun()
        # Filled last, so a conversation started by this run's question is listed at once.
        listing = st.container()
        _question_counter(res.settings.max_question_chars)
    st.title(t("page_chat"))
    if not readable:
        st.warning(t("no_library"))
    # Earlier turns are drawn from the stored answers at once; only a new answer streams.
    notes: dict[str, list[str]] = st.session_state.get(GUIDELINE_NOTES, {})
    for question, answer in list(st.session_state.get(HISTORY, [])):
        with st.chat_message("user"):
            st.markdown(escape_markdown(question))
        _show_done(answer)
        _show_answer(res, principal, answer)
        for note in notes.get(answer.answer_id, []):
            # Issue 17: the guideline this answer cites has a newer version since.
            st.warning(
                t("guideline_updated_since", note=escape_markdown(note)), icon=":material/update:"
            )
    # No `max_chars`: Streamlit would cut a pasted question silently (issue 16 item 2).
    submitted = st.chat_input(t("ask_placeholder"), key="gc_question")
    question = _accept(res, submitted) if submitted is not None else None
    question = _edit_draft(res) or question
    if question:
        # The question as sent and stored: identifiers replaced by placeholders, said once.
        shown, removed = service.as_recorded(question)
        with st.chat_message("user"):
            st.markdown(escape_markdown(shown))
            if removed and not st.session_state.get(IDENTIFIERS_NOTED):
                st.session_state[IDENTIFIERS_NOTED] = True
                st.caption(t("identifiers_removed", n=removed))
        chosen = None if library == ALL else library
        answer = _ask(res, principal, question, shown=shown, library=chosen, strength=strength)
        if answer is not None:
            _show_answer(res, principal, answer, stream=True)
    with listing:
        _conversation_list(res, principal)


render()
