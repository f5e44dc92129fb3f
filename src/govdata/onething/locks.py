"""Writing a case: its row taken first, so that two people closing matters of one case follow each other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.onething.models import Case


def lock_case(db: Session, case_id: int | Any) -> None:
    """Take the case for writing before reading it: a no-op UPDATE as the transaction's first statement holds
    the row (PostgreSQL) or the write lock (SQLite, where a read-then-write transaction would fail if another
    writer committed in between). Two officers closing matters of one case at once then follow each other."""
    db.rollback()  # nothing is written yet; whatever was read (the principal) is re-read as needed
    db.execute(update(Case).where(Case.id == case_id).values(id=Case.id))
