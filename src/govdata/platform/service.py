from __future__ import annotations

from sqlalchemy.orm import Session

from govdata.platform.models import PlatformSetting


def get_setting(db: Session, key: str) -> str | None:
    row = db.get(PlatformSetting, key)
    return row.value if row else None


def set_setting(db: Session, key: str, value: str) -> None:
    row = db.get(PlatformSetting, key)
    if row is None:
        db.add(PlatformSetting(key=key, value=value))
    else:
        row.value = value
