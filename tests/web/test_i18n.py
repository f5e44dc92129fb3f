"""Translations: every string the sources mark for translation has an English translation, and pages follow
the chosen language. Message ids are the Chinese text; zh_CN has no catalog (see govdata.i18n).

The extraction here runs Babel over the source tree with the repository's babel.cfg (the same mapping
``make i18n`` uses), not over the committed messages.pot, so a newly added, untranslated string fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from govdata import i18n
from govdata.actionlog.views import ACTION_LABELS
from govdata.orgs.service import LEVEL_LABELS, TYPE_LABELS
from govdata.principal import ROLE_LABELS
from govdata.web.forms import NOTICES
from tests.factories import PASSWORD, make_org, make_user

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "govdata"
EN_PO = SRC / "locale" / "en" / "LC_MESSAGES" / "messages.po"

# %(name)s / %s / %d (python-format) and {name} / {0} / {} (python-brace-format) placeholders.
_PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^{}]*\}")


def _mapping() -> tuple[list[tuple[str, str]], dict]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping  # Babel < 2.16
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        return parse(fh, str(ROOT / "babel.cfg"))


def _extract() -> dict[str, list[str]]:
    """msgid (the singular for plural messages) -> the source locations that use it."""
    method_map, options_map = _mapping()
    # N_ is also named in babel.cfg; it is added here too because Babel before 2.18 ignores per-section keywords.
    keywords = {**DEFAULT_KEYWORDS, **frontend.parse_keywords(["N_"])}
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(SRC), method_map, options_map, keywords=keywords):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    return _extract()


@pytest.fixture(scope="module")
def en_catalog() -> Catalog:
    with EN_PO.open("rb") as fh:
        return read_po(fh, locale="en")


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in _PLACEHOLDER.findall(text) if p != "%%")


# -- the catalog covers the sources ---------------------------------------------------------------------------


def test_extraction_sees_templates_python_and_label_dicts(extracted):
    """Guards the checks below against a babel.cfg that silently matches nothing."""
    locations = [loc for locs in extracted.values() for loc in locs]
    assert any(".html:" in loc for loc in locations) and any(".py:" in loc for loc in locations)
    assert "组织机构" in extracted  # {{ _("组织机构") }} in templates
    for labels in (LEVEL_LABELS, TYPE_LABELS, ROLE_LABELS, ACTION_LABELS, NOTICES):
        missing = [v for v in labels.values() if v not in extracted]
        assert not missing, f"label values not marked with N_(): {missing}"


def test_every_extracted_msgid_has_an_english_translation(extracted, en_catalog):
    problems = []
    for msgid, where in sorted(extracted.items()):
        message = en_catalog.get(msgid)
        strings = (message.string if isinstance(message.string, (list, tuple)) else [message.string]) if message else []
        if message is None:
            problems.append(f"missing from en catalog: {msgid!r} ({', '.join(where)})")
        elif message.fuzzy:
            problems.append(f"fuzzy (review and remove the flag): {msgid!r}")
        elif not all(s and s.strip() for s in strings):
            problems.append(f"empty translation: {msgid!r} ({', '.join(where)})")
    assert not problems, "run `make i18n` and translate:\n" + "\n".join(problems)


def test_label_dict_values_translate_at_run_time():
    en = i18n.translations("en")
    for labels in (LEVEL_LABELS, TYPE_LABELS, ROLE_LABELS, ACTION_LABELS, NOTICES):
        untranslated = [v for v in labels.values() if en.gettext(v) == v]
        assert not untranslated, untranslated


def test_catalog_passes_babel_checks(en_catalog):
    errors = [(m.id, [str(e) for e in errs]) for m, errs in en_catalog.check()]
    assert not errors, errors


def test_placeholders_are_preserved(en_catalog):
    for message in en_catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = _placeholders(ids[0])
        for s in strings:
            assert _placeholders(s) == expected, (message.id, s)


def test_placeholder_pattern_sees_python_and_brace_formats():
    assert _placeholders("共 %(n)d 条,%s 与 {name} 和 {0}") == sorted(["%(n)d", "%s", "{name}", "{0}"])
    assert _placeholders("100%% 完成") == []


# -- lookups ------------------------------------------------------------------------------------------------


def test_english_and_chinese_lookups():
    assert i18n.translations("en").gettext("组织机构") == "Organisations"
    assert i18n.translations("en").gettext("大数据局管理员") == "Bureau administrator"
    assert i18n.translations("zh_CN").gettext("组织机构") == "组织机构"


def test_marker_returns_its_argument():
    assert i18n.N_("市级") == "市级"


# -- rendered pages -----------------------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    assert "登录" in response.text
    assert "Sign in" not in response.text


@pytest.mark.parametrize("how", ["cookie", "query"])
def test_login_page_in_english(client, how):
    if how == "cookie":
        client.cookies.set("gd_lang", "en")
        response = client.get("/login")
    else:
        response = client.get("/login?lang=en")
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Sign in" in response.text
    assert "Username" in response.text and "Password" in response.text
    assert "登录" not in response.text


def test_language_switch_sets_the_cookie(client):
    response = client.get("/lang/en", follow_redirects=False)
    assert response.status_code == 303
    assert "gd_lang=en" in response.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/login").text


def test_notices_from_imported_macros_are_translated(client, db):
    """Macros imported from _macros.html don't see the render context; `_` must still work there."""
    make_org(db, "DSJ", name="大数据发展局")
    make_user(db, "admin", "DSJ", "bureau_admin")
    db.commit()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/",
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "机构已创建" in client.get("/orgs?notice=org_created").text
    client.cookies.set("gd_lang", "en")
    page = client.get("/orgs?notice=org_created").text
    assert "Organisation created" in page
    assert "Organisations" in page and "City" in page
