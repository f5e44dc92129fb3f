"""govdata: a government data governance and sharing platform (政务数据治理与共享平台)."""

__version__ = "0.1.0"
