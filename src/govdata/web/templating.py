"""Jinja2 rendering shared by every domain's pages. Each domain keeps its templates in
``<domain>/templates/<domain>/``; the shell's layout lives in ``web/templates``."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup
from starlette.responses import Response

from govdata import __version__, i18n
from govdata.config import get_settings, local_tz
from govdata.principal import ROLE_LABELS, Principal

_PACKAGE = Path(__file__).resolve().parent.parent
CSRF_COOKIE = "gd_csrf"
LANG_COOKIE = "gd_lang"


def _template_dirs() -> list[str]:
    dirs = [str(_PACKAGE / "web" / "templates")]
    dirs += sorted(str(p) for p in _PACKAGE.glob("*/templates") if p.parent.name != "web")
    return dirs


templates = Jinja2Templates(directory=_template_dirs()[0])
templates.env.loader = ChoiceLoader([FileSystemLoader(d) for d in _template_dirs()])
templates.env.globals.update(version=__version__, role_labels=ROLE_LABELS, locales=i18n.LOCALES)
templates.env.filters["tojson_attr"] = lambda v: Markup.escape(json.dumps(v, ensure_ascii=False))
templates.env.filters["pretty_json"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1, default=str)
templates.env.filters["dt"] = lambda v: v.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M:%S") if v else ""


def csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200,
           principal: Principal | None = None) -> Response:
    locale = i18n.current_locale.get()
    translations = i18n.translations(locale)
    ctx = {
        "request": request, "principal": principal, "csrf_token": csrf_token(request), "lang": locale,
        "_": translations.gettext, "ngettext": translations.ngettext,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    set_csrf_cookie(request, response)
    return response


def set_csrf_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict",
                            secure=get_settings().cookie_secure, path="/")
