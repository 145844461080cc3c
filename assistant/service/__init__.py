"""The use-cases, and only here (DESIGN.md §2).

`context` opens the one `Context` per process; `acting` says who acts and writes every audit row
(`record`, `audited`, `resolve_actor`); `ask` answers and searches, with `understanding` (what
a question asks and whether the library holds its subject) and `verdicts` (faithful and
responsive, per sentence); `passages` shows a cited passage in its context and finds its
original; `sign_in` signs people in;
`admin` manages users, roles and libraries; `audit_trail` verifies, exports, purges and counts
the audit trail; `review`, `gates`, `feedback`, `needs` and `monitoring` are the oversight
use-cases; `db` upgrades the schema and `backup` backs the data directory up and restores it.
Ingestion's person-checked use-cases stay in `ingestion/` (the package direction holds) and
record through `acting`. The interfaces (`ui/`: the Streamlit pages and the `guidecite`
command) reach `assistant` only through these modules and `domain`, `errors`, `config`.
"""
