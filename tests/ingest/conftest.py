"""Helpers that make people and files to feed the ``people`` resource (the fixtures are in fixtures.py)."""

from __future__ import annotations

import csv
import io
import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from stdnum.cn import ric

PEOPLE_ITEMS = [
    {"key": "id_number", "name": "公民身份号码", "data_type": "C", "length": 18, "required": True, "primary_key": True,
     "data_element": "DE0002"},
    {"key": "name", "name": "姓名", "data_type": "C", "length": 50, "required": True, "data_element": "DE0001"},
    {"key": "sex", "name": "性别", "data_type": "C", "length": 1, "data_element": "DE0003"},
    {"key": "birth_date", "name": "出生日期", "data_type": "D", "data_element": "DE0004"},
    {"key": "region", "name": "户籍地行政区划代码", "data_type": "C", "length": 6, "data_element": "DE0005"},
    {"key": "phone", "name": "手机号码", "data_type": "C", "length": 11, "data_element": "DE0007"},
]
HEADER = [i["key"] for i in PEOPLE_ITEMS]


def port_open(url: str) -> bool:
    """Whether the server a database URL names answers on its port (department-database tests skip otherwise)."""
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 0), timeout=1):
            return True
    except OSError:
        return False


def id_number(birth: str = "19900101", seq: int = 123, region: str = "450202") -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def person(n: int, **overrides: str) -> dict[str, str]:
    """A valid person: birth dates and sequence numbers vary with n; a male has an odd sequence number."""
    birth = f"19{60 + n % 40:02d}{1 + n % 12:02d}{1 + n % 28:02d}"
    seq = (n % 499) * 2 + 1
    row = {"id_number": id_number(birth, seq), "name": f"张{n}", "sex": "1",
           "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "region": "450202", "phone": f"1380013{n:04d}"}
    row.update(overrides)
    return row


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8", header: list[str] = HEADER) -> Path:
    path.write_bytes(csv_text(rows, header).encode(encoding))
    return path
