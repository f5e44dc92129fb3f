"""The exchange gateway (数据交换网关, issue 5) and its building blocks: masking rules (``masking``) and the
serving store for hosted lookups (``serving``)."""
