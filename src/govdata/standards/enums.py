"""The catalog's own enumerations (政务信息资源目录), key → Chinese label, in display order.

This module is the one source: the ``catalog_*`` code sets are generated from it, and the catalog domain
imports it directly so that a form or a check needs no database round trip.
"""

from __future__ import annotations

from govdata.i18n import N_

SHARE_TYPES = {  # 共享类型
    "unconditional": N_("无条件共享"),
    "conditional": N_("有条件共享"),
    "none": N_("不予共享"),
}

SHARE_METHODS = {  # 共享方式
    "database": N_("数据库"),
    "file": N_("文件下载"),
    "api": N_("接口"),
}

FORMATS = {  # 信息资源格式
    "electronic_file": N_("电子文件"),
    "spreadsheet": N_("电子表格"),
    "database": N_("数据库"),
    "image": N_("图形图像"),
    "streaming": N_("流媒体"),
    "self_describing": N_("自描述格式"),
    "service": N_("服务接口"),
}

UPDATE_CYCLES = {  # 更新周期
    "realtime": N_("实时"),
    "daily": N_("每日"),
    "weekly": N_("每周"),
    "monthly": N_("每月"),
    "quarterly": N_("每季度"),
    "half_yearly": N_("每半年"),
    "yearly": N_("每年"),
}

DATA_TYPES = {  # 数据项类型 (GB/T 21063 信息项数据类型)
    "C": N_("字符型"),
    "N": N_("数值型"),
    "Y": N_("货币型"),
    "D": N_("日期型"),
    "T": N_("日期时间型"),
    "L": N_("逻辑型"),
    "M": N_("备注型"),
    "G": N_("通用型"),
    "B": N_("双精度型"),
    "I": N_("整型"),
    "F": N_("浮点型"),
}

GRADES = {  # 数据分级 (一般数据 / 重要数据 / 核心数据, 数据安全法)
    "general": N_("一般"),
    "important": N_("重要"),
    "core": N_("核心"),
}

SENSITIVITIES = {  # 敏感级别
    "L1": N_("不敏感"),
    "L2": N_("低敏感"),
    "L3": N_("较敏感"),
    "L4": N_("敏感"),
}

# code set name → (title, enumeration); the catalog_* code sets are built from these.
CODESETS = {
    "catalog_share_type": (N_("共享类型"), SHARE_TYPES),
    "catalog_share_method": (N_("共享方式"), SHARE_METHODS),
    "catalog_format": (N_("信息资源格式"), FORMATS),
    "catalog_update_cycle": (N_("更新周期"), UPDATE_CYCLES),
    "catalog_data_type": (N_("数据项类型"), DATA_TYPES),
    "catalog_grade": (N_("数据分级"), GRADES),
    "catalog_sensitivity": (N_("敏感级别"), SENSITIVITIES),
}
