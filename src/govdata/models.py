"""Every domain's tables, imported so that Alembic and tests see one metadata."""

from govdata.accounts import models as accounts_models  # noqa: F401
from govdata.actionlog import models as actionlog_models  # noqa: F401
from govdata.audit import models as audit_models  # noqa: F401
from govdata.catalog import models as catalog_models  # noqa: F401
from govdata.db import Base
from govdata.exchange import models as exchange_models  # noqa: F401
from govdata.ingest import models as ingest_models  # noqa: F401
from govdata.jobs import models as jobs_models  # noqa: F401
from govdata.matters import models as matters_models  # noqa: F401
from govdata.onething import models as onething_models  # noqa: F401
from govdata.opendata import models as opendata_models  # noqa: F401
from govdata.orgs import models as orgs_models  # noqa: F401
from govdata.platform import models as platform_models  # noqa: F401
from govdata.sharing import models as sharing_models  # noqa: F401
from govdata.standards import models as standards_models  # noqa: F401

metadata = Base.metadata
