"""Liuzhou's organisations as data. Codes: ``<region>-<abbreviation>``; nothing here is special-cased in code."""

from __future__ import annotations

CITY = ("LZ-GOV", "柳州市人民政府", "450200")

# (code, name, org_type)
CITY_DEPARTMENTS = [
    ("450200-DSJ", "柳州市大数据发展局", "department"),
    ("450200-GA", "柳州市公安局", "department"),
    ("450200-WJ", "柳州市卫生健康委员会", "department"),
    ("450200-JY", "柳州市教育局", "department"),
    ("450200-RS", "柳州市人力资源和社会保障局", "department"),
    ("450200-YB", "柳州市医疗保障局", "department"),
    ("450200-SJ", "柳州市市场监督管理局", "department"),
    ("450200-SW", "国家税务总局柳州市税务局", "department"),
    ("450200-MZ", "柳州市民政局", "department"),
    ("450200-ZR", "柳州市自然资源和规划局", "department"),
    ("450200-ZJ", "柳州市住房和城乡建设局", "department"),
    ("450200-GJJ", "柳州住房公积金管理中心", "institution"),
    ("450200-SP", "柳州市行政审批局", "department"),
    ("450200-CZ", "柳州市财政局", "department"),
    ("450200-FG", "柳州市发展和改革委员会", "department"),
    ("450200-XXZX", "柳州市信息化建设管理中心", "institution"),
]

# region code → (district/county name, townships/streets)
COUNTIES = {
    "450202": ("城中区", ["城中街道", "潭中街道", "河东街道", "静兰街道"]),
    "450203": ("鱼峰区", ["天马街道", "驾鹤街道", "箭盘山街道", "五里亭街道"]),
    "450204": ("柳南区", ["柳南街道", "河西街道", "南站街道"]),
    "450205": ("柳北区", ["解放街道", "雅儒街道", "胜利街道", "白露街道"]),
    "450206": ("柳江区", ["拉堡镇", "进德镇", "穿山镇"]),
    "450222": ("柳城县", ["大埔镇", "龙头镇", "太平镇"]),
    "450223": ("鹿寨县", ["鹿寨镇", "中渡镇", "寨沙镇"]),
    "450224": ("融安县", ["长安镇", "浮石镇", "泗顶镇"]),
    "450225": ("融水苗族自治县", ["融水镇", "和睦镇", "三防镇"]),
    "450226": ("三江侗族自治县", ["古宜镇", "林溪镇", "丹洲镇"]),
}

# Departments every district/county government has in the demo: (abbreviation, name suffix)
COUNTY_DEPARTMENTS = [
    ("JY", "教育局"),
    ("WJ", "卫生健康局"),
    ("RS", "人力资源和社会保障局"),
    ("SP", "行政审批局"),
]

# (username, full name, organisation code, role)
ACCOUNTS = [
    ("admin", "平台管理员", "450200-DSJ", "bureau_admin"),
    ("auditor", "审计员", "450200-DSJ", "auditor"),
    ("ga_admin", "公安局数据管理员", "450200-GA", "dept_admin"),
    ("wj_admin", "卫健委数据管理员", "450200-WJ", "dept_admin"),
    ("wj_staff", "卫健委工作人员", "450200-WJ", "dept_staff"),
    ("jy_admin", "教育局数据管理员", "450200-JY", "dept_admin"),
    ("cz_jy_admin", "城中区教育局数据管理员", "450202-JY", "dept_admin"),
    # one-thing services: the service centre's window and the officers who handle the bundled matters
    ("sp_staff", "政务服务中心窗口人员", "450200-SP", "dept_staff"),
    ("ga_staff", "公安局户籍民警", "450200-GA", "dept_staff"),
    ("yb_staff", "医保局经办人员", "450200-YB", "dept_staff"),
    ("rs_staff", "人社局经办人员", "450200-RS", "dept_staff"),
]
