"""What many tests build the same way: a throwaway PostgreSQL database, a small indexed library,
and accounts whose passwords hash cheaply.

Plain functions and context managers, so a module fixture, a session fixture and a test body
can all use them; the pytest fixtures that wrap them stay next to the tests that need them.
"""

from __future__ import annotations

import html
import os
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from assistant.access import AccessControl
from assistant.accounts import Accounts, LocalAuthenticator
from assistant.audit.log import open_audit_log
from assistant.config import Settings, get_settings
from assistant.db import shared_engine
from assistant.domain import AuditEvent, Principal, Source
from assistant.embedding import DenseEmbedder, SparseEncoder, load_dense_embedder
from assistant.glossary import LayeredTerms, TermTable, cedict_table, load_glossary
from assistant.service.context import Context, open_context
from assistant.store import VectorStore, open_store
from assistant.term_rarity import TermRarity
from ingestion.service import Ingestor

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

# --------------------------------------------------------------------------- PostgreSQL

TEST_DATABASE_URL = "GUIDECITE_TEST_DATABASE_URL"


@contextmanager
def _server() -> Iterator[tuple[str, Engine]]:
    """(base URL, AUTOCOMMIT engine) of the test server; skips the test when there is none."""
    base = os.environ.get(TEST_DATABASE_URL, "")
    if not base:
        pytest.skip(f"{TEST_DATABASE_URL} is not set (PostgreSQL tests need a server)")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        try:
            admin.connect().close()
        except OperationalError as exc:
            # The first line names host and port, never the password of the URL.
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            pytest.skip(f"the server at {TEST_DATABASE_URL} is unreachable ({reason})")
        yield base, admin
    finally:
        admin.dispose()


@contextmanager
def postgres_database() -> Iterator[str]:
    """URL of a fresh database `guidecite_test_<random>` on the test server, dropped afterwards.

    Skips the test when GUIDECITE_TEST_DATABASE_URL is not set or its server is unreachable.
    """
    with _server() as (base, admin):
        name = f"guidecite_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            # This process's pooled connections first; FORCE ends those of other processes.
            shared_engine(url).dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_role() -> Iterator[str]:
    """Name of a fresh LOGIN role with no privileges on the test server, dropped afterwards.

    Enter it before `postgres_database()`: a role that holds grants in a database can only be
    dropped once that database is gone.
    """
    with _server() as (_base, admin):
        role = f"guidecite_app_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        try:
            yield role
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')


def url_as_role(url: str, role: str) -> str:
    """`url` signed in as `role` (no password) instead of its own user."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


# `@pytest.fixture(params=DATABASE_BACKENDS)` runs a test on both; the PostgreSQL one is marked.
DATABASE_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def database_url(backend: str, *, sqlite_file: Path) -> Iterator[str]:
    """URL of a fresh database of `backend`: the SQLite file, or a throwaway PostgreSQL one."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
    else:
        with postgres_database() as url:
            yield url


# --------------------------------------------------------------------------- indexed library


@dataclass
class IndexedLibrary:
    """The vector store of a data directory, open, with a few guidelines ingested."""

    store: VectorStore
    embedder: DenseEmbedder


def index_library(settings: Settings, libraries: Mapping[str, Sequence[Path]]) -> IndexedLibrary:
    """Ingest each library's files into the store of `settings`; every file must go in.

    The store stays open: the caller closes `.store` (before an app that opens it itself runs).
    """
    store = open_store(settings)
    try:
        embedder = load_dense_embedder(settings.embedding)
        ingestor = Ingestor(settings, store=store, embedder=embedder)
        for library, paths in libraries.items():
            report = ingestor.ingest(list(paths), library=library)
            assert report.failed == [], report.failed
            assert len(report.documents) == len(paths), report.documents
    except BaseException:
        store.close()
        raise
    return IndexedLibrary(store=store, embedder=embedder)


@dataclass
class GuidelineWorld:
    """Guidelines written as files, ingested into `library` (hospital), readable under `access`."""

    settings: Settings
    library: IndexedLibrary
    access: AccessControl


@contextmanager
def guideline_world(
    tmp_path_factory: pytest.TempPathFactory,
    texts: Mapping[str, str],
    *,
    roles: Sequence[Principal] = (),
) -> Iterator[GuidelineWorld]:
    """Write each `{file name: text}`, ingest them all into the hospital library of a fresh data
    directory (real ingestion, Qdrant Edge, the shipped model), and close the store after."""
    folder = tmp_path_factory.mktemp("guidelines")
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    library = index_library(settings, {"hospital": sorted(folder.iterdir())})
    try:
        yield GuidelineWorld(settings, library, open_access(settings, roles=roles))
    finally:
        library.store.close()


def answer_context(world: GuidelineWorld, audit_dir: Path) -> Context:
    """A Context answering from `library` with `access`, extractive (no chat model), auditing
    into its own `audit_dir` so that each test reads only its own events."""
    return Context(
        settings=world.settings,
        store=world.library.store,
        embedder=world.library.embedder,
        access=world.access,
        audit=open_audit_log(world.settings.model_copy(update={"data_dir": audit_dir})),
        chat=None,
    )


# --------------------------------------------------------------------------- accounts

# Real argon2id with argon2-cffi's cheapest profile: the production cost (64 MiB, t=3) takes
# ~0.7 s per hash on the shared CI cores. Tests of the production parameters build their own.
FAST_HASHING = LocalAuthenticator(PasswordHasher.from_parameters(profiles.CHEAPEST))


def open_access(
    settings: Settings,
    *,
    roles: Sequence[Principal] = (),
    libraries: Mapping[str, str] | None = None,
) -> AccessControl:
    """The policy of `settings` with the default rules, these role assignments and, for each
    library, a grant to its department."""
    access = AccessControl.open(settings)
    access.seed_defaults()
    for person in roles:
        access.assign_role(user=person.user, role=person.role, department=person.department)
    for library, department in (libraries or {}).items():
        access.assign_library(library=library, department=department)
    return access


def open_accounts(
    settings: Settings,
    *,
    access: AccessControl,
    now: Callable[[], datetime] | None = None,
) -> Accounts:
    """Accounts of `settings` that hash passwords with FAST_HASHING."""
    return Accounts.open(settings, access=access, now=now, authenticator=FAST_HASHING)


def open_fast_context() -> Context:
    """The configured Context, hashing with FAST_HASHING (stands in for the CLI's open_context)."""
    return open_context(get_settings(), authenticator=FAST_HASHING)


# --------------------------------------------------------------------------- two editions

FLU_2025 = "zh/流行性感冒诊疗方案（2025年版）.txt"
# The edits that make the test's second edition of the shipped influenza guideline (issue 17
# §2): a dose number, a removed paragraph and a reworded recommendation; nothing else changes.
FLU_DOSE = ("成人剂量每次 75mg", "成人剂量每次 150mg")
FLU_REMOVED = "肾功能不全者要根据肾功能调整剂量。"
FLU_REWORDED = (
    "（3）有传播给高危人群风险的流感患者，建议给予抗病毒",
    "（3）有传播给高危人群风险的流感患者，应当尽早给予抗病毒",
)
FLU_NEW_VERSION = "2026年版"


def flu_editions(corpus_dir: Path, folder: Path) -> tuple[Path, Path]:
    """The shipped 2025 influenza guideline and a second edition of it (FLU_NEW_VERSION,
    labelled by its `.meta.yaml` sidecar), same file name, in two folders under `folder`."""
    original = corpus_dir / FLU_2025
    text = original.read_text(encoding="utf-8")
    edited = text
    for old, new in (FLU_DOSE, (FLU_REMOVED + "\n", ""), FLU_REWORDED):
        assert text.count(old) == 1, old
        edited = edited.replace(old, new)
    first = folder / "2025" / original.name
    second = folder / "2026" / original.name
    first.parent.mkdir(parents=True)
    second.parent.mkdir(parents=True)
    first.write_text(text, encoding="utf-8")
    second.write_text(edited, encoding="utf-8")
    second.with_name(second.name + ".meta.yaml").write_text(
        f"version: {FLU_NEW_VERSION}\n", encoding="utf-8"
    )
    return first, second


LIVER_2026 = "zh/原发性肝癌诊疗指南（2026年版）.txt"
# A recommendation the liver guideline grades (issue #17 §1), as `liver_excerpt` writes it.
LIVER_GRADED = "肝癌中、高风险人群应至少每隔6个月进行1次肝癌监测（证据等级2，推荐A）"


def liver_excerpt(corpus_dir: Path, folder: Path) -> Path:
    """The screening paragraph of the shipped liver guideline, which states a grade, as a small
    text file under `folder` (the whole guideline takes long to index)."""
    text = (corpus_dir / LIVER_2026).read_text(encoding="utf-8")
    start = text.index("肝癌中、高风险人群应至少每隔6")
    paragraph = text[start : text.index("率。", start) + 2].replace("\n", "").replace(" ", "")
    # The guideline's reference numbers ("[11]") read as citations to a source [11] that an
    # answer does not have, which fails the copied sentence (unknown_citation) whatever its grade.
    paragraph = re.sub(r"\[\d+(?:[-–,]\d+)*\]", "", paragraph)
    assert LIVER_GRADED in paragraph, paragraph
    path = folder / "原发性肝癌诊疗指南（筛查节选）.txt"
    path.write_text(f"原发性肝癌诊疗指南\n\n二、肝癌的筛查\n\n{paragraph}\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- pages and audit


def page_texts(at: AppTest) -> str:
    """Every text a person reads on an AppTest page, one element per line."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.info]
    parts += [e.value for e in at.warning] + [e.value for e in at.success]
    parts += [e.value for e in at.title] + [e.value for e in at.subheader]
    return "\n".join(str(p) for p in parts)


def audit_events(action: str) -> list[AuditEvent]:
    """The configured audit trail's events of one action, oldest first."""
    return list(open_audit_log(get_settings()).iter_events(actions=[action]))


# --------------------------------------------------------------------------- an English DOCX

HYGIENE_QUESTION = "How many seconds should hands be rubbed with alcohol-based hand rub?"
HYGIENE_FILE = "Hand hygiene in outpatient care (2024).docx"
# An English guideline of three sections whose every sentence differs, so that each can be
# found once, in order, in the context shown.
HYGIENE = {
    "1. Indications": [
        "Perform hand hygiene before touching a patient and before a clean or aseptic procedure.",
        "Perform hand hygiene after contact with blood, body fluids or contaminated surfaces.",
        "Perform hand hygiene after removing gloves, because gloves may have small defects.",
        "Visibly soiled hands must be washed with soap and water rather than rubbed.",
        "Patients and visitors should be offered hand hygiene at the entrance of the clinic.",
        "Staff who care for patients with diarrhoea should wash hands with soap and water.",
    ],
    "2. Technique": [
        "Apply a palmful of alcohol-based hand rub and cover all surfaces of both hands.",
        "Rub hands together with alcohol-based hand rub for 20 seconds until the hands are dry.",
        "Handwashing with soap and water should last at least 40 seconds including rinsing.",
        "Dry hands thoroughly with a single-use towel and use the towel to turn off the tap.",
        "Fingernails should be kept short and artificial nails should not be worn at work.",
        "Rings and wrist watches should be removed before the hand hygiene procedure starts.",
        "Sleeves should end at or above the elbow so that wrists can be cleaned as well.",
        "Hand rub dispensers belong at the point of care, within reach of the treating staff.",
        "Gloves are not a substitute for hand hygiene and are changed between two patients.",
        "Hot water increases the risk of dermatitis and is not recommended for washing.",
        "Liquid soap is preferred to bar soap, which can harbour bacteria between uses.",
        "Refillable soap containers must be cleaned and dried before they are filled again.",
        "Surgical hand preparation follows a separate protocol with a longer contact time.",
        "Hand lotion from a personal tube may be applied after work but not during care.",
        "Alcohol-based rubs are flammable and are stored away from sources of ignition.",
        "Children visiting the clinic are helped by staff to clean their hands correctly.",
    ],
    "3. Monitoring": [
        "Adherence to hand hygiene should be observed directly by trained observers each month.",
        "Results of monitoring should be fed back to the staff of each ward within two weeks.",
        "Consumption of alcohol-based hand rub per patient-day is a useful surrogate measure.",
        "Dispensers should be checked weekly and refilled before they are empty.",
        "Skin care products should be provided to prevent irritant contact dermatitis.",
        "Hand hygiene training should be repeated for all clinical staff every year.",
    ],
}


def hygiene_page(folder: Path, *, suffix: str) -> Path:
    """The HYGIENE guideline as an HTML (`.html`) or Markdown (`.md`) file under `folder`,
    named apart from the DOCX so that it is a guideline of its own."""
    name = f"Hand hygiene handbook ({suffix.lstrip('.')} edition){suffix}"
    if suffix == ".html":
        body = "".join(
            f"<h2>{html.escape(heading)}</h2>" + "".join(f"<p>{html.escape(s)}</p>" for s in part)
            for heading, part in HYGIENE.items()
        )
        text = f"<html><head><title>{name[:-5]}</title></head><body>{body}</body></html>"
    else:
        text = "".join(
            f"## {heading}\n\n" + "".join(f"{s}\n\n" for s in part)
            for heading, part in HYGIENE.items()
        )
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def hygiene_docx(folder: Path) -> Path:
    """An English DOCX guideline of three sections (HYGIENE) under `folder`."""
    document = docx.Document()
    document.add_heading("Hand Hygiene in Outpatient Care", level=1)
    for heading, sentences in HYGIENE.items():
        document.add_heading(heading, level=2)
        # One sentence a paragraph: short pieces, so neighbouring chunks share one (overlap).
        for sentence in sentences:
            document.add_paragraph(sentence)
    path = folder / HYGIENE_FILE
    document.save(str(path))
    return path


# Syllables of drug names that exist nowhere (tests/assistant: fake_drug and its kin).
SYLLABLES = ["zor", "va", "pri", "lat", "mex", "ti", "cla", "ben", "qui", "dor"]


ZH_SYLLABLES = list("佐伐普利美替克本奎多")


# A small library for question analysis and responsiveness: two antivirals' doses and their
# neighbours.
SMALL_LIBRARY = [
    "奥司他韦：成人剂量每次75mg，每日2次，疗程5天。",
    "帕拉米韦：成人剂量300mg，静脉滴注，每日1次。",
    "流感患者出现发热、咳嗽等症状，应当及时就诊。",
    "Patients with influenza should be treated with antivirals.",
    "Hand hygiene should be performed before and after patient contact.",
]


def fake_drug(seed: int) -> tuple[str, str]:
    """A drug name that exists nowhere (English and Chinese)."""
    rng = random.Random(seed)
    en = "".join(rng.choice(SYLLABLES) for _ in range(4)) + "mab"
    zh = "".join(rng.choice(ZH_SYLLABLES) for _ in range(4)) + "单抗"
    return en, zh


def table_with(*pairs: tuple[str, str]) -> LayeredTerms:
    """A term table of the given (zh, en) pairs over CC-CEDICT."""
    glossary = TermTable()
    for zh, en in pairs:
        glossary.add(zh, en)
    return LayeredTerms((glossary, cedict_table()))


def glossary_table() -> LayeredTerms:
    """The shipped glossary's names, then CC-CEDICT (no library glosses, no vocabulary)."""
    return LayeredTerms((load_glossary(), cedict_table()), clinical=1)


def rarity_of(passages: list[str]) -> TermRarity:
    """Term rarity over the given passages, counted with the library's own sparse tokenizer."""
    enc = SparseEncoder()
    df: Counter[str] = Counter()
    for text in passages:
        df.update(set(enc.tokenize(text)))
    return TermRarity(df, len(passages))


def make_source(
    n: int,
    text: str,
    *,
    doc: str,
    title: str,
    chunk: int = 0,
    section: str = "",
    item_head: str | None = None,
) -> Source:
    """A Chinese passage as retrieval returns it, numbered `n`, from chunk `chunk` of `doc`,
    under `section` (and inside the list item headed `item_head`)."""
    return Source(
        n=n, doc_id=doc, title=title, library="l", text=text, chunk_id=f"{doc}-{chunk}",
        chunk_index=chunk, language="zh", section=section, item_head=item_head,
    )  # fmt: skip
