"""What changed between two versions of one guideline (issue 17 §2).

Both versions stay in the store (the older one `superseded`), so a diff is rebuilt from their
chunks: each section's text is reassembled from its chunks (the chunker's overlap removed),
split into sentences (zh/en, `assistant.citations.split_sentences`) and compared section by
section. A run of sentences only in the old version is one `removed` item, only in the new one
one `added` item; an old and a new sentence at the same place that still mostly agree are one
`changed` item, with the numbers, doses and durations that differ named
(`assistant.quantities`, e.g. `75mg → 150mg`), and so are the recommendation grades
(`assistant.grades`, e.g. `证据等级1，推荐A → 证据等级2，推荐B`); a removed run that
reappears word for word elsewhere is `moved`. Deterministic: no model, the same two versions
always give the same diff.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from difflib import SequenceMatcher

from assistant.citations import split_sentences

# The diff's shapes are domain models (the Library page and the CLI read them); re-exported.
from assistant.domain import Change as Change
from assistant.domain import ChangeKind as ChangeKind
from assistant.domain import DocumentDiff as DocumentDiff
from assistant.domain import DocumentStatus, DocumentVersion
from assistant.domain import GradeChange as GradeChange
from assistant.domain import QuantityChange as QuantityChange
from assistant.domain import SectionDiff as SectionDiff
from assistant.domain import SectionStatus as SectionStatus
from assistant.domain import version_json as version_json
from assistant.errors import IngestionError
from assistant.quantities import Quantity, extract_quantities
from assistant.store import VectorStore
from ingestion.documents import list_documents
from ingestion.grades import detect_grades

Path = tuple[str, ...]

# An old and a new sentence at the same place are one edited sentence when at least half of
# their words/characters agree; below that they are a removal and an addition.
SAME_SENTENCE = 0.5
# A section whose heading changed is the same section when most of its sentences stay.
SAME_SECTION = 0.6
# Chunk overlaps shorter than this are coincidence (a shared `。`), not the splitter's overlap.
MIN_OVERLAP = 4

_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)*|\s+|.", re.DOTALL)


# ---- which two versions ---------------------------------------------------------------------


def select_versions(
    store: VectorStore,
    doc_id: str,
    *,
    from_version: str | None = None,
    to_version: str | None = None,
) -> tuple[DocumentVersion, DocumentVersion]:
    """The (older, newer) versions to compare; by default the current one and the one it superseded.

    A version is named by its label (`2025年版`) or by the start of its content hash (when two
    versions share a label).
    """
    versions = [v for v in list_documents(store) if v.doc_id == doc_id]
    if not versions:
        raise IngestionError(
            f"unknown document {doc_id}",
            user_message=f"No document with id {doc_id!r}; see `guidecite docs list`.",
        )
    if len(versions) == 1:
        only = versions[0]
        raise IngestionError(
            f"{doc_id} has one version",
            user_message=(
                f"{doc_id} has only one version ({only.version or only.content_sha256[:12]}); "
                "there is nothing to compare it with until a new edition is ingested."
            ),
        )
    epoch = datetime.min.replace(tzinfo=UTC)
    by_age = sorted(versions, key=lambda v: v.ingested_at or epoch)
    if to_version is not None:
        after = _find_version(versions, to_version, doc_id=doc_id, option="--to")
    else:
        current = [v for v in by_age if v.status == DocumentStatus.CURRENT]
        after = current[-1] if current else by_age[-1]
    if from_version is not None:
        before = _find_version(versions, from_version, doc_id=doc_id, option="--from")
    else:
        older = [v for v in by_age if v.content_sha256 != after.content_sha256]
        older = [v for v in older if (v.ingested_at or epoch) <= (after.ingested_at or epoch)]
        if not older:
            raise IngestionError(
                f"{doc_id} {after.version}: no older version",
                user_message=(
                    f"{after.version} is the oldest version of {doc_id}; name the other one "
                    f"with --from ({_labels(versions)})."
                ),
            )
        before = older[-1]
    if before.content_sha256 == after.content_sha256:
        raise IngestionError(
            f"{doc_id}: same version on both sides",
            user_message=(
                f"--from and --to name the same version of {doc_id}; pick two different ones."
            ),
        )
    return before, after


def _labels(versions: Sequence[DocumentVersion]) -> str:
    return ", ".join(f"{v.version or '?'} [{v.content_sha256[:12]}] {v.status}" for v in versions)


def _find_version(
    versions: Sequence[DocumentVersion], spec: str, *, doc_id: str, option: str
) -> DocumentVersion:
    wanted = spec.strip()
    found = [v for v in versions if v.version == wanted]
    if not found and len(wanted) >= 6:
        found = [v for v in versions if v.content_sha256.startswith(wanted.lower())]
    if len(found) == 1:
        return found[0]
    why = "names more than one version" if found else "is not a version"
    raise IngestionError(
        f"{doc_id}: {option} {spec!r} {why}",
        user_message=(
            f"{option} {spec!r} {why} of {doc_id}; its versions are: {_labels(versions)} "
            "(name one by its label or the start of its content hash)."
        ),
    )


# ---- the diff -------------------------------------------------------------------------------


def diff_document(
    store: VectorStore,
    doc_id: str,
    *,
    from_version: str | None = None,
    to_version: str | None = None,
) -> DocumentDiff:
    """Compare two stored versions of `doc_id` (default: current against the one it superseded)."""
    before, after = select_versions(store, doc_id, from_version=from_version, to_version=to_version)
    return diff_versions(
        before,
        after,
        before_sections=stored_sections(store, before),
        after_sections=stored_sections(store, after),
    )


def stored_sections(store: VectorStore, version: DocumentVersion) -> dict[Path, list[str]]:
    """The sentences of each section of a stored version, sections in document order."""
    rows = store.scroll(doc_id=version.doc_id, content_sha256=version.content_sha256)
    payloads = sorted((p for _, p in rows), key=lambda p: int(p["chunk_index"]))
    return sections_from_chunks(
        [(tuple(p.get("section_path") or []), str(p.get("text") or "")) for p in payloads]
    )


def sections_from_chunks(chunks: Sequence[tuple[Path, str]]) -> dict[Path, list[str]]:
    """Chunks in order as `{section path: sentences}`, the splitter's overlap removed."""
    texts: dict[Path, str] = {}
    for path, text in chunks:
        text = text.strip()
        if path not in texts:
            texts[path] = text
            continue
        joined = texts[path]
        overlap = _overlap(joined, text)
        texts[path] = joined + text[overlap:] if overlap else f"{joined}\n{text}"
    return {path: split_sentences(text) for path, text in texts.items()}


def _overlap(left: str, right: str) -> int:
    """Length of the longest end of `left` that `right` starts with (0 below MIN_OVERLAP)."""
    for size in range(min(len(left), len(right)), 0, -1):
        if size < MIN_OVERLAP and size < len(right):
            return 0
        if left.endswith(right[:size]):
            return size
    return 0


def diff_versions(
    before: DocumentVersion,
    after: DocumentVersion,
    *,
    before_sections: dict[Path, list[str]],
    after_sections: dict[Path, list[str]],
) -> DocumentDiff:
    """The diff of two versions given their sections' sentences (see `stored_sections`)."""
    pairs = _pair_sections(before_sections, after_sections)
    raw: list[tuple[Path | None, Path | None, list[Change]]] = []
    for old_path, new_path in pairs:
        old = before_sections.get(old_path, []) if old_path is not None else []
        new = after_sections.get(new_path, []) if new_path is not None else []
        raw.append((old_path, new_path, _diff_sentences(old, new)))
    raw = _find_moves(raw)
    sections: list[SectionDiff] = []
    for old_path, new_path, changes in raw:
        status: SectionStatus
        if old_path is None:
            status = "added"
        elif new_path is None:
            status = "removed"
        elif old_path != new_path:
            status = "renamed"
        else:
            status = "changed"
        # A renamed heading is worth showing even when the text under it stayed the same.
        if not changes and status != "renamed":
            continue
        path = new_path if new_path is not None else old_path
        assert path is not None
        sections.append(
            SectionDiff(
                path=list(path),
                status=status,
                previous_path=list(old_path) if status == "renamed" and old_path else None,
                changes=changes,
            )
        )
    return DocumentDiff(before=before, after=after, sections=sections)


def _key(text: str) -> str:
    """A sentence as compared: NFKC, whitespace ignored."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """Words, numbers and single characters (each CJK character is one token); no whitespace."""
    return tuple(t for t in _TOKEN.findall(unicodedata.normalize("NFKC", text)) if not t.isspace())


def _similarity(a: str, b: str, *, at_least: float = 0.0) -> float:
    """Share of tokens two sentences have in common (0 when it cannot reach `at_least`)."""
    matcher = SequenceMatcher(None, _tokens(a), _tokens(b), autojunk=False)
    # quick_ratio is an upper bound: a rewritten section compares every pair of sentences.
    if matcher.quick_ratio() < at_least:
        return 0.0
    return matcher.ratio()


def _pair_sections(
    before: dict[Path, list[str]], after: dict[Path, list[str]]
) -> list[tuple[Path | None, Path | None]]:
    """(old, new) section paths: same heading, else a renamed heading over mostly the same
    sentences; unmatched ones pair with None. New document order, removed sections last."""
    unmatched_old = [p for p in before if p not in after]
    renamed: dict[Path, Path] = {}
    for new_path in (p for p in after if p not in before):
        new_keys = [_key(s) for s in after[new_path]]
        best: tuple[float, Path] | None = None
        for old_path in unmatched_old:
            if old_path in renamed.values():
                continue
            old_keys = [_key(s) for s in before[old_path]]
            score = SequenceMatcher(None, old_keys, new_keys, autojunk=False).ratio()
            if score >= SAME_SECTION and (best is None or score > best[0]):
                best = (score, old_path)
        if best is not None:
            renamed[new_path] = best[1]
    pairs: list[tuple[Path | None, Path | None]] = []
    for new_path in after:
        if new_path in before:
            pairs.append((new_path, new_path))
        else:
            pairs.append((renamed.get(new_path), new_path))
    taken = set(renamed.values())
    pairs += [(p, None) for p in unmatched_old if p not in taken]
    return pairs


def _diff_sentences(old: list[str], new: list[str]) -> list[Change]:
    """Added, removed and changed runs between two sentence lists of one section."""
    changes: list[Change] = []
    matcher = SequenceMatcher(None, [_key(s) for s in old], [_key(s) for s in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        changes += _diff_block(old[i1:i2], new[j1:j2])
    return changes


def _diff_block(old: list[str], new: list[str]) -> list[Change]:
    """One replaced run: sentences that still mostly agree are `changed`, in order; the rest
    are removed and added runs."""
    pairs: list[tuple[int, int]] = []
    last = -1
    for i, sentence in enumerate(old):
        scored = [
            (_similarity(sentence, new[j], at_least=SAME_SENTENCE), j)
            for j in range(last + 1, len(new))
        ]
        scored = [(score, j) for score, j in scored if score >= SAME_SENTENCE]
        if scored:
            _, j = max(scored, key=lambda pair: (pair[0], -pair[1]))
            pairs.append((i, j))
            last = j
    changes: list[Change] = []
    oi, nj = 0, 0
    for i, j in [*pairs, (len(old), len(new))]:
        if old[oi:i]:
            changes.append(Change(kind="removed", before=" ".join(old[oi:i])))
        if new[nj:j]:
            changes.append(Change(kind="added", after=" ".join(new[nj:j])))
        if i < len(old) and j < len(new):
            changes.append(changed(old[i], new[j]))
        oi, nj = i + 1, j + 1
    return changes


def changed(before: str, after: str) -> Change:
    """A `changed` item: both texts, the quantities and grades that differ, an inline diff."""
    grades = grade_changes(before, after)
    # The digits of a changed grade (证据等级1 → 2) are the grade's, not a dose's.
    old_wording = [g.before.original for g in grades if g.before is not None]
    new_wording = [g.after.original for g in grades if g.after is not None]
    quantities = [
        q
        for q in quantity_changes(before, after)
        if not (
            (q.before is None or any(q.before in w for w in old_wording))
            and (q.after is None or any(q.after in w for w in new_wording))
        )
    ]
    return Change(
        kind="changed",
        before=before,
        after=after,
        quantities=quantities,
        grades=grades,
        inline=inline_diff(before, after),
    )


def grade_changes(before: str, after: str) -> list[GradeChange]:
    """The grades only one side states (by wording), paired old → new in order."""
    old = detect_grades(before)
    new = detect_grades(after)
    old_words = [_key(g.original) for g in old]
    new_words = [_key(g.original) for g in new]
    old_only = [g for g in old if _key(g.original) not in new_words]
    new_only = [g for g in new if _key(g.original) not in old_words]
    pairs = [GradeChange(before=a, after=b) for a, b in zip(old_only, new_only, strict=False)]
    paired = len(pairs)
    pairs += [GradeChange(before=a, after=None) for a in old_only[paired:]]
    pairs += [GradeChange(before=None, after=b) for b in new_only[paired:]]
    return pairs


def quantity_changes(before: str, after: str) -> list[QuantityChange]:
    """The quantities only one side states, paired old → new (same unit first, then in order)."""
    old = extract_quantities(before)
    new = extract_quantities(after)
    old_only = _without(old, new)
    new_only = _without(new, old)
    pairs: list[QuantityChange] = []
    for q in list(old_only):
        match = next((n for n in new_only if n.unit == q.unit), None)
        if match is not None:
            pairs.append(QuantityChange(before=q.raw, after=match.raw))
            old_only.remove(q)
            new_only.remove(match)
    for q, n in zip(old_only, new_only, strict=False):
        pairs.append(QuantityChange(before=q.raw, after=n.raw))
    paired = min(len(old_only), len(new_only))
    pairs += [QuantityChange(before=q.raw, after=None) for q in old_only[paired:]]
    pairs += [QuantityChange(before=None, after=n.raw) for n in new_only[paired:]]
    return pairs


def _without(items: list[Quantity], others: list[Quantity]) -> list[Quantity]:
    """`items` less one occurrence of each of `others` (Quantity equality ignores `raw`)."""
    left = list(others)
    kept: list[Quantity] = []
    for item in items:
        if item in left:
            left.remove(item)
        else:
            kept.append(item)
    return kept


def inline_diff(before: str, after: str) -> str:
    """The new text with edits marked: `[-old-]{+new+}` (zh by character, en by word)."""
    a = _TOKEN.findall(before)
    b = _TOKEN.findall(after)
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(a[i1:i2]))
            continue
        if i2 > i1:
            out.append(f"[-{''.join(a[i1:i2])}-]")
        if j2 > j1:
            out.append(f"{{+{''.join(b[j1:j2])}+}}")
    return "".join(out)


def _find_moves(
    raw: list[tuple[Path | None, Path | None, list[Change]]],
) -> list[tuple[Path | None, Path | None, list[Change]]]:
    """A removed run that was added word for word elsewhere is one `moved` item, shown where
    it now is."""
    removed: dict[str, tuple[int, int]] = {}
    for s, (_, _, changes) in enumerate(raw):
        for c, change in enumerate(changes):
            if change.kind == "removed":
                removed.setdefault(_key(change.before), (s, c))
    drop: set[tuple[int, int]] = set()
    result: list[tuple[Path | None, Path | None, list[Change]]] = []
    for old_path, new_path, changes in raw:
        kept: list[Change] = []
        for change in changes:
            where = removed.get(_key(change.after)) if change.kind == "added" else None
            if where is not None and where not in drop:
                drop.add(where)
                origin = raw[where[0]][0]
                kept.append(
                    Change(
                        kind="moved",
                        before=change.after,
                        after=change.after,
                        moved_from=list(origin) if origin is not None else None,
                    )
                )
            else:
                kept.append(change)
        result.append((old_path, new_path, kept))
    return [
        (old_path, new_path, [c for i, c in enumerate(changes) if (s, i) not in drop])
        for s, (old_path, new_path, changes) in enumerate(result)
    ]
