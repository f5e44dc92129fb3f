"""Data standards (数据标准): code sets, data elements and identifier validators."""
