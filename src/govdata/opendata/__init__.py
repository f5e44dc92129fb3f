"""公共数据开放网站: the public open-data portal, its CKAN-compatible API, developers, feedback, reuse."""
