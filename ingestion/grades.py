"""Recommendation grades for ingestion: the detection lives in `assistant.grades`.

The verifier checks that a grade an answer states is in the cited passage (issue #17 §1), and
`assistant` may not import `ingestion` (DESIGN.md §2), so the pure detection moved there;
ingestion stores what it finds in each chunk's payload.
"""

from __future__ import annotations

from assistant.grades import detect_grades, grades_payload

__all__ = ["detect_grades", "grades_payload"]
