"""Every UI string in Chinese and English, the language toggle's default, and lookup."""

# ruff: noqa: E501  (one catalogue entry per line reads best side by side)

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh", "en")
LANGUAGE_NAMES: dict[Lang, str] = {"zh": "中文", "en": "English"}

CATALOGUE: dict[str, dict[Lang, str]] = {
    # ---- shell -------------------------------------------------------------------------------
    "app_title": {"zh": "GuideCite 临床指南助手", "en": "GuideCite guideline assistant"},
    "language": {"zh": "语言", "en": "Language"},
    "signed_in_as": {"zh": "已登录：{user}（{role}，{department}）", "en": "Signed in: {user} ({role}, {department})"},
    "logout": {"zh": "退出登录", "en": "Sign out"},
    "role_doctor": {"zh": "医生", "en": "Doctor"},
    "role_dept_admin": {"zh": "科室管理员", "en": "Department administrator"},
    "role_quality_reviewer": {"zh": "质控审核员", "en": "Quality reviewer"},
    "role_compliance_officer": {"zh": "合规专员", "en": "Compliance officer"},
    "role_sysadmin": {"zh": "系统管理员", "en": "System administrator"},
    "session_ended": {"zh": "会话已结束，请重新登录。", "en": "Your session has ended; please sign in again."},
    "signed_out": {"zh": "您已退出登录。", "en": "You have signed out."},
    "service_down": {"zh": "后台服务暂不可用", "en": "A backing service is unavailable"},
    "service_down_hint": {"zh": "请稍后重试，或联系系统管理员。", "en": "Try again shortly, or contact the system administrator."},
    "page_denied": {"zh": "您无权打开此页面。此次访问已记录。", "en": "You may not open this page. The attempt has been recorded."},
    # ---- page titles -------------------------------------------------------------------------
    "page_login": {"zh": "登录", "en": "Sign in"},
    "page_chat": {"zh": "问答", "en": "Chat"},
    "page_library": {"zh": "指南库", "en": "Library"},
    "page_access": {"zh": "权限管理", "en": "Access"},
    "page_audit": {"zh": "审计", "en": "Audit"},
    # ---- login -------------------------------------------------------------------------------
    "username": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "totp_code": {"zh": "动态验证码（6 位）", "en": "Authenticator code (6 digits)"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "bad_credentials": {"zh": "用户名或密码错误。", "en": "Wrong user name or password."},
    "locked": {"zh": "登录失败次数过多，账户已暂时锁定，请稍后再试或联系管理员。", "en": "Too many failed attempts: the account is locked for a while. Try again later or ask an administrator."},
    "disabled": {"zh": "该账户已停用，请联系系统管理员。", "en": "This account is disabled; contact the system administrator."},
    "totp_required": {"zh": "您的角色需要动态验证码，请输入认证器中的 6 位数字。", "en": "Your role needs a second factor: enter the 6-digit code from your authenticator app."},
    "totp_not_enrolled": {"zh": "您的角色需要动态验证码，但尚未绑定认证器，请联系系统管理员。", "en": "Your role needs an authenticator app but none is enrolled; ask the system administrator."},
    "totp_invalid": {"zh": "验证码无效，请等待下一个验证码后重试。", "en": "That code is not valid; wait for the next one and try again."},
    "no_role": {"zh": "您的账户没有角色，请联系科室管理员。", "en": "Your account has no role; ask your department administrator."},
    "must_change": {"zh": "这是临时密码，请先设置新密码。", "en": "This is a temporary password: choose a new one first."},
    "new_password": {"zh": "新密码（至少 12 个字符）", "en": "New password (at least 12 characters)"},
    "confirm_password": {"zh": "再次输入新密码", "en": "Repeat the new password"},
    "change_password": {"zh": "修改密码", "en": "Change password"},
    "passwords_differ": {"zh": "两次输入的新密码不一致。", "en": "The two new passwords differ."},
    "password_changed": {"zh": "密码已修改，请用新密码登录。", "en": "Password changed; sign in with the new password."},
    # ---- chat --------------------------------------------------------------------------------
    "library": {"zh": "指南库", "en": "Library"},
    "all_libraries": {"zh": "全部可查阅的指南库", "en": "All libraries I may read"},
    "new_conversation": {"zh": "新对话", "en": "New conversation"},
    "ask_placeholder": {"zh": "输入临床问题……", "en": "Ask a clinical question…"},
    "working": {"zh": "正在处理……", "en": "Working…"},
    "step_retrieving": {"zh": "正在检索指南……", "en": "Searching the guidelines…"},
    "step_sources": {"zh": "找到 {n} 条来源", "en": "{n} sources found"},
    "step_not_relevant": {"zh": "这些来源与问题的相关性不足。", "en": "None of them is close enough to the question."},
    "step_model": {"zh": "模型生成中……", "en": "The model is thinking…"},
    "step_passages": {"zh": "正在摘取指南原文段落……", "en": "Picking the guideline passages…"},
    "step_verifying": {"zh": "正在核验引用（{n} 句）……", "en": "Verifying citations ({n} sentences)…"},
    "step_verified": {"zh": "{ok}/{total} 句已通过核对", "en": "{ok} of {total} sentences verified"},
    "step_done": {"zh": "完成（{ms} 毫秒）", "en": "Done ({ms} ms)"},
    "mode_generative": {"zh": "根据指南生成：每句话都注明出处并已核对。", "en": "Generated from the guidelines: every sentence cites its source and was checked."},
    "mode_generative_unverified": {"zh": "根据指南生成，但含有未经核实的句子：标 ⚠ 的句子得不到所引来源的支持，请对照原文。", "en": "Generated from the guidelines, but the answer contains unverified sentences: those marked ⚠ are not supported by the source they cite; check them against the original."},
    "mode_extractive": {"zh": "仅列出指南原文段落：生成功能当前不可用。", "en": "Guideline passages only: answer generation is unavailable right now."},
    "mode_not_approved": {"zh": "仅列出指南原文段落：本科室尚未获准使用生成功能。", "en": "Guideline passages only: generated answers are not approved for your department."},
    "mode_refused": {"zh": "指南库未涵盖这个问题。", "en": "The guideline library does not cover this question."},
    "mode_denied": {"zh": "您无权提出此问题或查阅该指南库。", "en": "You may not ask this or read that library."},
    "redacted": {"zh": "处理前已移除 {n} 个身份标识信息。", "en": "{n} identifiers were removed before processing."},
    "sources": {"zh": "来源", "en": "Sources"},
    "related_reading": {"zh": "相关阅读（并非答案）", "en": "Related reading (not an answer)"},
    "related_note": {"zh": "以下段落与问题最接近，但没有回答它；请勿当作答案使用。", "en": "These passages are the nearest to the question but do not answer it; do not use them as an answer."},
    "step_none_answers": {"zh": "检索到的段落都没有回答问题，仅作为相关阅读列出。", "en": "The passages found do not answer the question: they are listed as related reading only."},
    "quoted_from_zh": {"zh": "引自中文指南", "en": "Quoted from a guideline in Chinese"},
    "quoted_from_en": {"zh": "引自英文指南", "en": "Quoted from a guideline in English"},
    "verified": {"zh": "已核对", "en": "verified"},
    "unverified": {"zh": "未能核对", "en": "not verified"},
    "unsupported_note": {"zh": "引用来源不支持此句", "en": "not supported by the cited source"},
    "version": {"zh": "版本", "en": "version"},
    "section": {"zh": "章节", "en": "section"},
    "page": {"zh": "页", "en": "page"},
    "open_original": {"zh": "在第 {page} 页打开原文", "en": "Open the original at page {page}"},
    "open_original_tab": {"zh": "在新标签页打开原文第 {page} 页", "en": "Open page {page} of the original in a new tab"},
    "download_original": {"zh": "下载原文", "en": "Download the original"},
    "original_missing": {"zh": "原文未保存（已脱敏入库的文件不保留原件）。", "en": "The original is not stored (redacted documents keep no original)."},
    "helpful": {"zh": "有帮助", "en": "Helpful"},
    "not_helpful": {"zh": "没帮助", "en": "Not helpful"},
    "feedback_comment": {"zh": "意见（可选）", "en": "Comment (optional)"},
    "feedback_thanks": {"zh": "感谢反馈，已记录。", "en": "Thank you: your feedback was recorded."},
    "no_library": {"zh": "您目前没有可查阅的指南库，请联系科室管理员。", "en": "You have no library you may read; ask your department administrator."},
    # ---- library -----------------------------------------------------------------------------
    "upload": {"zh": "上传指南文件", "en": "Upload guideline files"},
    "target_library": {"zh": "目标指南库", "en": "Target library"},
    "ingest": {"zh": "导入", "en": "Ingest"},
    "ingesting": {"zh": "正在导入 {name}（{done}/{total}）", "en": "Ingesting {name} ({done}/{total})"},
    "ingest_done": {"zh": "已导入 {docs} 个文档，新增 {chunks} 个段落。", "en": "{docs} document(s) ingested, {chunks} passage(s) added."},
    "ingest_failed": {"zh": "{name}：{error}", "en": "{name}: {error}"},
    "documents": {"zh": "文档", "en": "Documents"},
    "no_documents": {"zh": "尚无文档。", "en": "No documents yet."},
    "delete_document": {"zh": "删除文档", "en": "Delete a document"},
    "delete_confirm": {"zh": "我确认删除该文档的所有版本", "en": "I confirm deleting every version of this document"},
    "delete": {"zh": "删除", "en": "Delete"},
    "deleted": {"zh": "已删除 {doc}（{n} 个段落）。", "en": "Deleted {doc} ({n} passages)."},
    "supersede_hint": {"zh": "上传同一指南的新版本即可替代旧版本（旧版本标记为已替代，不再检索）。", "en": "Upload a new version of a guideline to supersede the old one (it is kept, marked superseded, and no longer searched)."},
    # ---- access ------------------------------------------------------------------------------
    "users": {"zh": "用户", "en": "Users"},
    "roles": {"zh": "角色", "en": "Roles"},
    "user": {"zh": "用户", "en": "User"},
    "role": {"zh": "角色", "en": "Role"},
    "department": {"zh": "科室", "en": "Department"},
    "grant": {"zh": "授予", "en": "Grant"},
    "revoke": {"zh": "撤销", "en": "Revoke"},
    "changed": {"zh": "已更改。", "en": "Changed."},
    "unchanged": {"zh": "无变化（已是该状态）。", "en": "Nothing changed (already so)."},
    "library_grants": {"zh": "指南库授权", "en": "Library grants"},
    "recent_changes": {"zh": "最近的权限变更", "en": "Recent access changes"},
    # ---- audit -------------------------------------------------------------------------------
    "verify_chain": {"zh": "核验审计链", "en": "Verify the audit chain"},
    "chain_ok": {"zh": "审计链完整：{n} 条记录。", "en": "The audit chain is intact: {n} events."},
    "chain_bad": {"zh": "审计链损坏：第 {id} 条起（{reason}）。", "en": "The audit chain is broken from event {id} ({reason})."},
    "export": {"zh": "导出", "en": "Export"},
    "prepare_export": {"zh": "准备导出文件", "en": "Prepare the export"},
    "download_export": {"zh": "下载 {fmt}", "en": "Download {fmt}"},
    "questions_per_day": {"zh": "每日提问数", "en": "Questions per day"},
    "refusal_rate": {"zh": "拒答率", "en": "Refusal rate"},
    "flag_counts": {"zh": "风险标记", "en": "Flags"},
    "latency": {"zh": "响应时间（毫秒，p50/p95）", "en": "Latency (ms, p50/p95)"},
    "denials": {"zh": "拒绝访问次数", "en": "Denials"},
    "no_events": {"zh": "暂无提问记录。", "en": "No questions recorded yet."},
    # ---- review (issue 5 item 6, issue 6 item 2) ---------------------------------------------
    "page_review": {"zh": "质量审核", "en": "Review"},
    "review_filters": {"zh": "筛选", "en": "Filters"},
    "filter_department": {"zh": "科室", "en": "Department"},
    "filter_flag": {"zh": "风险标记", "en": "Flag"},
    "filter_status": {"zh": "状态", "en": "Status"},
    "filter_since": {"zh": "起始日期", "en": "Since"},
    "any": {"zh": "全部", "en": "Any"},
    "status_unresolved": {"zh": "未处理（待审核＋审核中）", "en": "Unresolved (open + in review)"},
    "status_open": {"zh": "待审核", "en": "Open"},
    "status_in_review": {"zh": "审核中", "en": "In review"},
    "status_resolved": {"zh": "已处理", "en": "Resolved"},
    "review_empty": {"zh": "没有符合条件的待审核回答。", "en": "No flagged answers match these filters."},
    "review_count": {"zh": "共 {n} 条", "en": "{n} item(s)"},
    "review_pick": {"zh": "选择要审核的条目", "en": "Choose an item to review"},
    "col_id": {"zh": "编号", "en": "ID"},
    "col_created": {"zh": "时间", "en": "Created"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_flags": {"zh": "风险标记", "en": "Flags"},
    "col_question": {"zh": "问题（已脱敏）", "en": "Question (redacted)"},
    "col_assignee": {"zh": "审核人", "en": "Assignee"},
    "item_heading": {"zh": "条目 #{id} · {department} · {status}", "en": "Item #{id} · {department} · {status}"},
    "item_meta": {"zh": "提问人：{asked_by} · 时间：{created} · 审核人：{assignee}", "en": "Asked by {asked_by} · {created} · assignee: {assignee}"},
    "nobody": {"zh": "无", "en": "none"},
    "redacted_question": {"zh": "问题（已脱敏）", "en": "Question (redacted)"},
    "answer": {"zh": "回答", "en": "Answer"},
    "answer_mode": {"zh": "回答方式：{mode}", "en": "Answer mode: {mode}"},
    "no_sentences": {"zh": "该回答没有生成句子（拒答或仅检索）。", "en": "This answer has no sentences (refused or retrieval only)."},
    "verification": {"zh": "逐句核对", "en": "Per-sentence verification"},
    "verification_summary": {"zh": "{ok}/{total} 句通过核对", "en": "{ok} of {total} sentences verified"},
    "col_sentence": {"zh": "句子", "en": "Sentence"},
    "col_citations": {"zh": "引用", "en": "Citations"},
    "col_supported": {"zh": "已核对", "en": "Verified"},
    "col_score": {"zh": "支持度", "en": "Support score"},
    "dropped": {"zh": "未展示的句子（医生看不到）", "en": "Dropped sentences (not shown to the doctor)"},
    "col_reason": {"zh": "原因", "en": "Reason"},
    "dropped_other_subject": {"zh": "讲的是其他主题", "en": "About another subject"},
    "dropped_other_aspect": {"zh": "讲的是同一主题的其他方面", "en": "About another aspect of the subject"},
    "dropped_not_responsive": {"zh": "没有回答问题", "en": "Does not answer the question"},
    "dropped_unfaithful": {"zh": "引用来源不支持此句", "en": "Not supported by the cited source"},
    "refusal_detail": {"zh": "拒答原因：{reason}；缺少：{missing}", "en": "Refused: {reason}; missing: {missing}"},
    "flags": {"zh": "风险标记", "en": "Flags"},
    "severity_high": {"zh": "高", "en": "high"},
    "severity_medium": {"zh": "中", "en": "medium"},
    "severity_info": {"zh": "提示", "en": "info"},
    "feedback": {"zh": "医生反馈", "en": "Feedback"},
    "no_feedback": {"zh": "暂无反馈。", "en": "No feedback."},
    "feedback_line": {"zh": "{by}（{ts}）：{verdict} — {comment}", "en": "{by} ({ts}): {verdict} — {comment}"},
    "take_item": {"zh": "认领审核", "en": "Take this item"},
    "taken": {"zh": "已认领，状态改为审核中。", "en": "Taken: the item is now in review."},
    "resolve_item": {"zh": "处理结论", "en": "Resolve"},
    "disposition": {"zh": "处理结论", "en": "Disposition"},
    "disposition_correct": {"zh": "回答正确", "en": "Correct"},
    "disposition_incorrect": {"zh": "回答有误", "en": "Incorrect"},
    "disposition_guideline_gap": {"zh": "指南缺口", "en": "Guideline gap"},
    "disposition_needs_escalation": {"zh": "需上报", "en": "Needs escalation"},
    "review_comment": {"zh": "审核意见", "en": "Reviewer comment"},
    "comment_required": {"zh": "请填写审核意见。", "en": "Please write a comment."},
    "resolved_as": {"zh": "已处理：{disposition}（{by}）。", "en": "Resolved as {disposition} by {by}."},
    # ---- monitoring (issue 5 item 7, issue 6 items 3-5) --------------------------------------
    "page_monitoring": {"zh": "监测预警", "en": "Monitoring"},
    "alerts": {"zh": "当前预警", "en": "Current alerts"},
    "no_alerts": {"zh": "当前没有预警。", "en": "No alerts right now."},
    "alert_identifier_spike": {"zh": "身份标识激增：最近 {window} 内从问题中移除了 {value} 个患者身份标识（阈值 {threshold}）。", "en": "Identifier spike: {value} patient identifiers removed from questions in the last {window} (threshold {threshold})."},
    "alert_denials_per_user": {"zh": "频繁越权：{subject} 在最近 {window} 内被拒绝 {value} 次（阈值 {threshold}）。", "en": "Repeated denials: {subject} was denied {value} times in the last {window} (threshold {threshold})."},
    "alert_unsupported_rate": {"zh": "无依据句子比例过高：最近 {window} 为 {value}（阈值 {threshold}）。", "en": "Unsupported-citation rate {value} in the last {window} (threshold {threshold})."},
    "alert_refusal_rate": {"zh": "拒答率过高：最近 {window} 为 {value}（阈值 {threshold}）。", "en": "Refusal rate {value} in the last {window} (threshold {threshold})."},
    "alert_llm_error_rate": {"zh": "模型错误率过高：最近 {window} 为 {value}（阈值 {threshold}）。", "en": "Model error rate {value} in the last {window} (threshold {threshold})."},
    "alert_injection_suspected": {"zh": "疑似提示注入：最近 {window} 内有 {value} 个回答含指令样文本。", "en": "Suspected injection: {value} answers with instruction-like text in the last {window}."},
    "alert_gate_expiring": {"zh": "伦理审批即将到期：{subject} 的审批还剩 {value} 天。", "en": "Ethics approval expiring: {subject}'s approval ends in {value} days."},
    "alert_gate_expired": {"zh": "伦理审批已过期：{subject} 已回到仅原文模式。", "en": "Ethics approval expired: {subject} is back to guideline passages only."},
    "metrics": {"zh": "各时间窗指标", "en": "Metrics per window"},
    "metric": {"zh": "指标", "en": "Metric"},
    "m_volume": {"zh": "提问数", "en": "Questions"},
    "m_refusal_rate": {"zh": "拒答率", "en": "Refusal rate"},
    "m_unsupported_rate": {"zh": "无依据句子比例", "en": "Unsupported-citation rate"},
    "m_llm_error_rate": {"zh": "模型错误率", "en": "Model error rate"},
    "m_flag_rate": {"zh": "风险标记率", "en": "Flag rate"},
    "m_identifier_detections": {"zh": "身份标识检出数", "en": "Identifier detections"},
    "m_denials": {"zh": "拒绝访问次数", "en": "Denials"},
    "m_negative_feedback": {"zh": "差评数", "en": "Thumbs-down"},
    "m_latency_p50": {"zh": "响应时间 p50（毫秒）", "en": "Latency p50 (ms)"},
    "m_latency_p95": {"zh": "响应时间 p95（毫秒）", "en": "Latency p95 (ms)"},
    "trends": {"zh": "每日趋势", "en": "Daily trends"},
    "rates": {"zh": "比例（拒答、风险标记、无依据句子）", "en": "Rates (refusal, flag, unsupported citation)"},
    "identifiers_denials": {"zh": "身份标识检出与拒绝访问", "en": "Identifier detections and denials"},
    "series": {"zh": "指标", "en": "Series"},
    "day": {"zh": "日期", "en": "Day"},
    "value": {"zh": "数值", "en": "Value"},
    "approvals": {"zh": "伦理审批", "en": "Ethics approvals"},
    "no_approvals": {"zh": "尚无科室获得伦理审批：所有科室仅提供指南原文。", "en": "No department has an ethics approval: every department gets guideline passages only."},
    "approval_open": {"zh": "有效", "en": "in force"},
    "approval_closed": {"zh": "无效", "en": "not in force"},
    "col_department": {"zh": "科室", "en": "Department"},
    "col_reference": {"zh": "批准文号", "en": "Reference"},
    "col_committee": {"zh": "审批机构", "en": "Committee"},
    "col_approved_on": {"zh": "批准日期", "en": "Approved on"},
    "col_expires_on": {"zh": "到期日期", "en": "Expires on"},
    "col_days_left": {"zh": "剩余天数", "en": "Days left"},
    "expiring_soon": {"zh": "{department} 的伦理审批 {reference} 将于 {expires} 到期（还剩 {days} 天），请安排复审。", "en": "{department}'s ethics approval {reference} expires on {expires} ({days} days left): schedule the re-review."},
    "needs_report": {"zh": "科室需求报告", "en": "Department needs report"},
    "needs_since": {"zh": "统计起始日期", "en": "Since"},
    "build_report": {"zh": "生成报告", "en": "Build the report"},
    "needs_summary": {"zh": "提问 {questions} 次，拒答 {refused} 次（{rate}），反馈率 {feedback}。", "en": "{questions} questions, {refused} refused ({rate}), feedback rate {feedback}."},
    "topics": {"zh": "提问主题", "en": "Topics asked"},
    "refused_topics": {"zh": "拒答主题（指南缺口）", "en": "Refused topics (guideline gaps)"},
    "no_refused_topics": {"zh": "该时段没有拒答。", "en": "Nothing was refused in this period."},
    "col_topic": {"zh": "主题", "en": "Topic"},
    "col_count": {"zh": "次数", "en": "Count"},
    "col_examples": {"zh": "示例（已脱敏）", "en": "Examples (redacted)"},
    "never_used": {"zh": "从未被引用的指南库：{libraries}", "en": "Libraries never drawn on: {libraries}"},
    "dispositions": {"zh": "审核结论：{values}", "en": "Reviewer dispositions: {values}"},
    # ---- hospital SSO (st.login) -----------------------------------------------------------
    "sso_sign_in": {"zh": "医院统一认证登录", "en": "Sign in with hospital SSO"},
    "sso_continue": {"zh": "以 {who} 身份继续", "en": "Continue as {who}"},
    "sso_other": {"zh": "切换医院账号", "en": "Use another hospital account"},
    "sso_or": {"zh": "或使用 GuideCite 账号登录", "en": "or sign in with a GuideCite account"},
    "unknown_user": {"zh": "您的医院统一认证账号没有对应的 GuideCite 账号，请联系系统管理员。", "en": "Your hospital sign-in has no GuideCite account; ask the system administrator."},
    "sso_unmapped": {"zh": "医院统一认证账号未对应 GuideCite 用户，请联系系统管理员。", "en": "Your hospital sign-in does not name a GuideCite account; ask the system administrator."},
}  # fmt: skip


def translate(key: str, lang: Lang, **values: object) -> str:
    """The catalogue string for `key` in `lang`, formatted with `values`."""
    text = CATALOGUE[key][lang]
    return text.format(**values) if values else text


def role_name(role: str, lang: Lang) -> str:
    """A role in words of `lang` (医生, Quality reviewer); an unknown role as it is stored."""
    entry = CATALOGUE.get(f"role_{role}")
    return entry[lang] if entry else role


def language_from_header(accept_language: str | None) -> Lang:
    """The first of zh/en the browser's Accept-Language prefers; English when neither."""
    if not accept_language:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return "zh" if primary == "zh" else "en"
    return "en"
