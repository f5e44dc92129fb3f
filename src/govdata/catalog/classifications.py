"""The classification tree (信息资源分类) of 《政务信息资源目录编制指南(试行)》: 类 / 项 / 目 / 细目.

Base (基础) and theme (主题) classes are fixed and seeded by the migration; department classes (部门) are
created on demand, one 项 per provider organisation, when its first department resource is registered.
"""

from __future__ import annotations

# (code, path) — the code of a child is its parent's code followed by its own digits.
BASE_TREE = [
    ("1", "基础"),
    ("101", "基础/人口"),
    ("102", "基础/法人"),
    ("103", "基础/自然资源和空间地理"),
    ("104", "基础/社会信用"),
    ("105", "基础/电子证照"),
    ("2", "主题"),
    ("201", "主题/医疗健康"),
    ("202", "主题/教育文化"),
    ("203", "主题/社会保障"),
    ("204", "主题/市场监管"),
    ("205", "主题/住房城乡建设"),
    ("206", "主题/民政服务"),
    ("207", "主题/财税金融"),
    ("208", "主题/交通出行"),
    ("209", "主题/公共安全"),
    ("210", "主题/生态环境"),
    ("211", "主题/文化旅游"),
    ("3", "部门"),
]
DEPARTMENT_ROOT = "3"


def seed_rows() -> list[dict[str, object]]:
    """The fixed tree as table rows (the migration inserts these)."""
    return [{"code": code, "name": path.rsplit("/", 1)[-1], "path": path,
             "parent_code": code[:-2] if len(code) > 1 else None, "next_sequence": 1} for code, path in BASE_TREE]
