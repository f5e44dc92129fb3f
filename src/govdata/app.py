"""The ASGI application: ``uvicorn --factory govdata.app:create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from govdata import __version__
from govdata.accounts import api as accounts_api
from govdata.accounts import views as accounts_views
from govdata.actionlog import api as actionlog_api
from govdata.actionlog import views as actionlog_views
from govdata.audit import api as audit_api
from govdata.audit import service as audit
from govdata.audit import views as audit_views
from govdata.catalog import api as catalog_api
from govdata.catalog import dcat as catalog_dcat
from govdata.catalog import list_views as catalog_list_views
from govdata.catalog import views as catalog_views
from govdata.config import get_settings
from govdata.exchange import api as exchange_api
from govdata.exchange import masking_api
from govdata.ingest import api as ingest_api
from govdata.ingest import views as ingest_views
from govdata.jobs import worker
from govdata.matters import api as matters_api
from govdata.matters import views as matters_views
from govdata.onething import api as onething_api
from govdata.onething import mobile as onething_mobile
from govdata.onething import views as onething_views
from govdata.onething import window as onething_window
from govdata.opendata import api as opendata_api
from govdata.opendata import ckan as opendata_ckan
from govdata.opendata import community_views as opendata_community
from govdata.opendata import manage_views as opendata_manage
from govdata.opendata import metadata as opendata_metadata
from govdata.opendata import usage as opendata_usage
from govdata.opendata import views as opendata_views
from govdata.orgs import api as orgs_api
from govdata.orgs import views as orgs_views
from govdata.sharing import api as sharing_api
from govdata.sharing import views as sharing_views
from govdata.standards import api as standards_api
from govdata.standards import views as standards_views
from govdata.web import errors
from govdata.web import views as web_views
from govdata.web.middleware import BodyLimitMiddleware, RequestContextMiddleware

STATIC_DIR = Path(__file__).parent / "web" / "static"

ROUTERS = [
    # the exchange gateway first (its busy route is matched in a handful of steps), after the other
    # /api/v1/exchange/... routes, since the gateway's path ends in a resource code
    exchange_api.endpoints_router, masking_api.router, exchange_api.router,
    web_views.health_router, web_views.router, accounts_api.router, orgs_api.router, actionlog_api.router,
    accounts_views.router, orgs_views.router, actionlog_views.router,
    ingest_api.router, ingest_views.router,  # before the catalog's: their paths end in suffixes after a code
    catalog_api.router, catalog_list_views.router, catalog_views.router,
    catalog_dcat.router,
    standards_api.router, standards_views.router,
    audit_api.router, audit_views.router,
    sharing_api.router, sharing_views.router,
    onething_api.router, onething_views.router, onething_mobile.router, onething_window.router,
    matters_api.router, matters_views.router,
    # the portal: DCAT and metadata first (/open/datasets/{slug}.ttl before the dataset page's /open/datasets/{slug})
    opendata_ckan.router, opendata_api.router, opendata_metadata.router, opendata_community.router,
    opendata_views.router, opendata_manage.router,
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background workers live as long as the application process (GOVDATA_WORKER_THREADS, 0 for none)."""
    running = worker.start(get_settings().worker_threads)
    try:
        yield
    finally:
        for w in running:
            w.stop()
        audit.stop_writer()  # writes what was submitted
        opendata_usage.flush_quietly()  # the portal's usage counts gathered since the last write


def create_app() -> FastAPI:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="govdata 政务数据治理与共享平台", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_mb << 20)
    app.add_middleware(RequestContextMiddleware, hsts=settings.cookie_secure)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
