"""Demo register of government service matters (政务服务事项清单) for Liuzhou: the city departments' matters, the
matters of every district and county department, and those of every township government and street office.

The dates tell the story the seed sets out (柳办发〔2020〕4号): city and county matters about 90% online by the end of
2020; township matters about 32% online at the end of 2020, 55% at the end of 2021 and 90% now; 全程网办 high by the
end of 2022 but not complete at any level (a few stragglers, and the matters the state rules otherwise on, which
keep a counter step). Deterministic: each level's matters are shuffled with a fixed seed and placed at evenly
spaced quantiles of that level's schedule, so the figures are exact to within one matter, whatever runs first.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from sqlalchemy.orm import Session
from stdnum.cn import uscc

from govdata.demo import data
from govdata.matters import service as matters
from govdata.matters.schemas import MatterCreate
from govdata.orgs import service as orgs
from govdata.principal import CLI

# name, category; the categories are keys of matters.service.CATEGORIES
CITY_MATTERS: dict[str, list[tuple[str, str]]] = {
    "450200-GA": [
        ("出生登记", "confirmation"), ("户口迁移", "permit"), ("投靠亲属户口迁入", "permit"),
        ("居民身份证申领", "public_service"), ("居民身份证换领", "public_service"),
        ("居民身份证补领", "public_service"), ("临时居民身份证申领", "public_service"),
        ("居住证申领", "public_service"), ("死亡户口注销", "confirmation"), ("姓名变更登记", "confirmation"),
        ("公章刻制备案", "other_power"), ("机动车注册登记", "confirmation"), ("机动车转移登记", "confirmation"),
        ("机动车驾驶证换证", "permit"), ("机动车驾驶人考试", "permit"), ("往来港澳通行证及签注签发", "permit"),
        ("普通护照签发", "permit"), ("无犯罪记录证明开具", "public_service"), ("保安员证核发", "permit"),
        ("旅馆业特种行业许可证核发", "permit"),
    ],
    "450200-WJ": [
        ("出生医学证明签发", "public_service"), ("预防接种证办理", "public_service"),
        ("预防接种证查验", "public_service"), ("医师执业注册", "permit"), ("护士执业注册", "permit"),
        ("医疗机构执业登记", "permit"), ("医疗机构设置审批", "permit"), ("公共场所卫生许可", "permit"),
        ("饮用水供水单位卫生许可", "permit"), ("母婴保健技术服务执业许可", "permit"),
        ("计划生育家庭特别扶助金发放", "payment"), ("独生子女父母奖励", "reward"), ("放射诊疗许可", "permit"),
        ("生育登记服务", "public_service"), ("职业病诊断机构备案", "other_power"), ("医疗广告审查", "permit"),
    ],
    "450200-JY": [
        ("义务教育入学报名资格审核", "public_service"), ("学位分配", "public_service"),
        ("学籍注册", "public_service"), ("民办学校办学许可", "permit"), ("教师资格认定", "permit"),
        ("教师资格证书补发换发", "public_service"), ("校外培训机构设立审批", "permit"),
        ("家庭经济困难学生认定", "confirmation"), ("中职国家助学金发放", "payment"),
        ("学历证明书补办", "public_service"), ("转学手续办理", "public_service"),
        ("普通高中招生录取", "public_service"), ("随迁子女义务教育入学申请", "public_service"),
        ("中小学教师职称评审", "other_power"),
        ("民办学校章程变更核准", "permit"),
    ],
    "450200-RS": [
        ("社会保障卡申领", "public_service"), ("社会保障卡挂失补换", "public_service"),
        ("员工参保登记", "public_service"), ("个人参保证明打印", "public_service"), ("退休审批", "confirmation"),
        ("基本养老金核定", "payment"), ("失业保险金申领", "payment"), ("就业创业证申领", "public_service"),
        ("职业技能等级认定", "public_service"), ("工伤认定", "confirmation"), ("劳动能力鉴定", "confirmation"),
        ("养老保险关系转移接续", "public_service"), ("养老保险待遇领取资格认证", "public_service"),
        ("人力资源服务许可", "permit"), ("劳务派遣经营许可", "permit"), ("创业担保贷款申请", "public_service"),
        ("技能提升补贴申领", "payment"), ("高校毕业生就业报到", "public_service"),
    ],
    "450200-YB": [
        ("城乡居民医保参保登记", "public_service"), ("职工医保参保登记", "public_service"),
        ("医保关系转移接续", "public_service"), ("异地就医备案", "public_service"), ("医保退休待遇变更", "payment"),
        ("门诊慢特病待遇认定", "confirmation"), ("医疗费用手工报销", "payment"), ("生育保险待遇核定", "payment"),
        ("定点医药机构申请受理", "public_service"), ("参保凭证打印", "public_service"), ("医疗救助申请", "payment"),
        ("医保个人账户家庭共济备案", "public_service"),
        ("外伤人员医疗费用报销", "payment"), ("医保转诊转院备案", "public_service"),
        ("灵活就业人员医保参保登记", "public_service"),
    ],
    "450200-SJ": [
        ("企业设立登记", "permit"), ("企业变更登记", "permit"), ("企业注销登记", "permit"),
        ("个体工商户登记", "permit"), ("食品经营许可", "permit"), ("食品生产许可", "permit"),
        ("药品零售企业许可", "permit"), ("第二类医疗器械经营备案", "other_power"), ("特种设备使用登记", "permit"),
        ("工业产品生产许可证核发", "permit"), ("营业执照补领", "public_service"),
        ("企业名称自主申报", "public_service"), ("股权出质登记", "confirmation"),
        ("特种设备作业人员资格认定", "permit"),
        ("农民专业合作社设立登记", "permit"),
    ],
    "450200-SW": [
        ("发票申领及税务UKey发放", "public_service"), ("税务登记信息确认", "public_service"), ("增值税申报", "levy"),
        ("个人所得税综合所得汇算清缴", "levy"), ("发票代开", "public_service"), ("契税申报", "levy"),
        ("车辆购置税申报", "levy"), ("完税证明开具", "public_service"), ("纳税信用复评", "public_service"),
        ("跨区域涉税事项报告", "public_service"), ("出口退税备案", "other_power"), ("税收优惠备案", "other_power"),
        ("清税证明开具", "public_service"), ("房产税申报", "levy"), ("社会保险费缴费申报", "levy"),
    ],
    "450200-MZ": [
        ("结婚登记", "confirmation"), ("离婚登记", "confirmation"), ("补领婚姻登记证", "confirmation"),
        ("收养登记", "confirmation"), ("最低生活保障审核确认", "payment"), ("特困人员救助供养审核确认", "payment"),
        ("临时救助", "payment"), ("高龄津贴发放", "payment"), ("困难残疾人生活补贴和重度残疾人护理补贴", "payment"),
        ("社会团体成立登记", "permit"), ("民办非企业单位成立登记", "permit"), ("惠民殡葬补贴", "payment"),
        ("养老机构备案", "other_power"), ("地名命名更名", "other_power"), ("慈善组织认定", "confirmation"),
        ("居民家庭经济状况核对", "public_service"),
    ],
    "450200-ZR": [
        ("建设用地规划许可", "permit"), ("建设工程规划许可", "permit"), ("不动产首次登记", "confirmation"),
        ("不动产转移登记", "confirmation"), ("不动产抵押登记", "confirmation"),
        ("不动产登记资料查询", "public_service"), ("建设项目用地预审与选址意见书核发", "permit"),
        ("测绘资质审批", "permit"), ("国有建设用地使用权出让", "other_power"), ("临时用地审批", "permit"),
        ("土地复垦方案审查", "other_power"), ("不动产变更登记", "confirmation"), ("不动产注销登记", "confirmation"),
        ("采矿权登记", "permit"),
        ("地质灾害危险性评估备案", "other_power"),
    ],
    "450200-ZJ": [
        ("建筑工程施工许可", "permit"), ("商品房预售许可", "permit"), ("建筑业企业资质核准", "permit"),
        ("房屋建筑和市政工程竣工验收备案", "other_power"), ("城镇污水排入排水管网许可", "permit"),
        ("公共租赁住房申请", "public_service"), ("城市建筑垃圾处置核准", "permit"),
        ("房地产开发企业资质核定", "permit"), ("燃气经营许可", "permit"), ("存量房交易资金监管", "public_service"),
        ("物业服务企业备案", "other_power"),
        ("建筑施工企业安全生产许可", "permit"), ("住房租赁合同网签备案", "public_service"),
        ("商品房买卖合同网签备案", "public_service"), ("建设工程消防验收", "permit"),
    ],
    "450200-GJJ": [
        ("住房公积金缴存登记", "public_service"), ("住房公积金个人账户设立", "public_service"),
        ("住房公积金退休提取", "public_service"), ("住房公积金租房提取", "public_service"),
        ("住房公积金购房提取", "public_service"), ("住房公积金贷款申请", "public_service"),
        ("住房公积金贷款提前还款", "public_service"), ("住房公积金缴存证明打印", "public_service"),
        ("住房公积金转移接续", "public_service"), ("单位缴存比例调整", "public_service"),
        ("住房公积金异地贷款缴存证明", "public_service"), ("住房公积金离职提取", "public_service"),
    ],
    "450200-SP": [
        ("银行预约开户", "public_service"), ("企业投资项目备案", "other_power"), ("企业投资项目核准", "permit"),
        ("建设项目环境影响评价审批", "permit"), ("取水许可", "permit"), ("道路货物运输经营许可", "permit"),
        ("出租汽车经营许可", "permit"), ("户外广告设施设置审批", "permit"), ("城市道路占用挖掘审批", "permit"),
        ("排污许可", "permit"), ("林木采伐许可", "permit"), ("防空地下室易地建设审批", "permit"),
        ("农药经营许可", "permit"), ("生鲜乳收购许可", "permit"), ("水土保持方案审批", "permit"),
    ],
    "450200-CZ": [
        ("代理记账许可", "permit"), ("会计人员信息采集", "public_service"), ("财政票据领购", "public_service"),
        ("政府采购供应商投诉处理", "ruling"), ("非税收入缴款", "levy"),
    ],
    "450200-FG": [
        ("政府投资项目可行性研究报告审批", "permit"), ("固定资产投资项目节能审查", "permit"),
        ("价格认定", "other_power"), ("企业境外投资项目备案", "other_power"), ("政府定价成本监审", "other_power"),
    ],
}

# by the abbreviation of data.COUNTY_DEPARTMENTS
COUNTY_MATTERS: dict[str, list[tuple[str, str]]] = {
    "JY": [
        ("幼儿园办学许可", "permit"), ("民办中小学办学许可", "permit"), ("中小学教师资格认定", "permit"),
        ("学生转学办理", "public_service"), ("家庭经济困难学生认定", "confirmation"),
        ("随迁子女入学申请", "public_service"), ("义务教育学生休学复学", "public_service"),
        ("学前教育资助", "payment"),
    ],
    "WJ": [
        ("诊所备案", "other_power"), ("医疗机构执业登记", "permit"), ("公共场所卫生许可", "permit"),
        ("母婴保健技术服务执业许可", "permit"), ("农村部分计划生育家庭奖励扶助", "payment"),
        ("乡村医生执业注册", "permit"), ("生育登记服务", "public_service"), ("医师多机构执业备案", "other_power"),
    ],
    "RS": [
        ("灵活就业人员参保登记", "public_service"), ("城乡居民养老保险参保登记", "public_service"),
        ("城乡居民养老保险待遇申领", "payment"), ("就业困难人员认定", "confirmation"), ("失业登记", "public_service"),
        ("社会保障卡申领", "public_service"), ("劳动人事争议仲裁申请", "ruling"), ("公益性岗位补贴申领", "payment"),
    ],
    "SP": [
        ("个体工商户登记", "permit"), ("食品经营许可", "permit"), ("企业设立登记", "permit"),
        ("建设项目环境影响评价审批", "permit"), ("建筑工程施工许可", "permit"), ("取水许可", "permit"),
        ("小餐饮登记", "permit"), ("药品零售企业许可", "permit"), ("烟草专卖零售许可", "permit"),
        ("再生资源回收经营者备案", "other_power"),
    ],
}

TOWNSHIP_MATTERS: list[tuple[str, str]] = [
    ("最低生活保障申请受理", "public_service"), ("特困人员救助供养申请受理", "public_service"),
    ("临时救助申请受理", "public_service"), ("高龄津贴申请受理", "public_service"),
    ("残疾人两项补贴申请受理", "public_service"), ("城乡居民养老保险参保登记受理", "public_service"),
    ("农村宅基地用地审批", "permit"), ("乡村建设规划许可", "permit"), ("老年人优待证办理", "public_service"),
    ("退役军人优待证申领受理", "public_service"),
]

# the matters each one-thing package bundles (matters.find_by_package): org code and name of a city matter
PACKAGES: dict[str, list[tuple[str, str]]] = {
    "newborn": [("450200-WJ", "出生医学证明签发"), ("450200-WJ", "预防接种证办理"), ("450200-GA", "出生登记"),
                ("450200-YB", "城乡居民医保参保登记"), ("450200-RS", "社会保障卡申领")],
    "school_enrolment": [("450200-JY", "义务教育入学报名资格审核"), ("450200-WJ", "预防接种证查验"),
                         ("450200-JY", "学位分配"), ("450200-JY", "学籍注册")],
    "company_startup": [("450200-SJ", "企业设立登记"), ("450200-GA", "公章刻制备案"),
                        ("450200-SW", "发票申领及税务UKey发放"), ("450200-RS", "员工参保登记"),
                        ("450200-GJJ", "住房公积金缴存登记"), ("450200-SP", "银行预约开户")],
    "retirement": [("450200-RS", "退休审批"), ("450200-RS", "基本养老金核定"), ("450200-YB", "医保退休待遇变更"),
                   ("450200-GJJ", "住房公积金退休提取")],
}

# 国家另有规定: a counter step the state requires (fingerprints and a photo, both parties present, a medical exam)
EXEMPT = {"居民身份证申领", "普通护照签发", "机动车驾驶人考试", "结婚登记", "离婚登记", "收养登记", "劳动能力鉴定"}

# Cumulative share of a level's matters online / fully online by each year end, from 2017-01-01 (share 0). The
# full-online schedule never runs ahead of the online one, so a matter's full date is never before its online date.
YEAR_ENDS = [date(y, 12, 31) for y in range(2017, 2025)]
SCHEDULES = {  # level → (online shares, full-online shares) at YEAR_ENDS
    "city": ([0.22, 0.50, 0.74, 0.92, 0.96, 0.98, 0.99, 1.00], [0.00, 0.05, 0.25, 0.50, 0.76, 0.94, 0.97, 0.99]),
    "county": ([0.18, 0.45, 0.70, 0.91, 0.95, 0.97, 0.99, 1.00], [0.00, 0.03, 0.18, 0.42, 0.68, 0.90, 0.95, 0.98]),
    "township": ([0.01, 0.06, 0.16, 0.32, 0.55, 0.78, 0.85, 0.90], [0.00, 0.00, 0.02, 0.08, 0.25, 0.68, 0.78, 0.84]),
}
START = date(2017, 1, 1)
# earlier in the urban districts, later in the mountain counties (shifts of the shuffle key, not of the shares)
REGION_BIAS = {"450202": -0.25, "450203": -0.2, "450204": -0.15, "450205": -0.2, "450225": 0.2, "450226": 0.25}
CATEGORY_NUMBER = {"permit": "01", "levy": "04", "payment": "05", "confirmation": "07", "reward": "08",
                   "ruling": "09", "other_power": "10", "public_service": "20"}


def _date_at(share: float, shares: list[float]) -> date | None:
    """The date by which ``share`` of the level is reached, linear within each year; None if never."""
    previous_day, previous = START, 0.0
    for day, reached in zip(YEAR_ENDS, shares, strict=True):
        if share <= reached:
            span = (share - previous) / (reached - previous) if reached > previous else 1.0
            return previous_day + timedelta(days=round(span * (day - previous_day).days))
        previous_day, previous = day, reached
    return None


def _credit_code(org) -> str:
    """The organisation's unified social credit code, or a well-formed one for a body without one (townships)."""
    if org.uscc:
        return org.uscc
    partial = "11" + org.region_code + str(int(hashlib.sha256(org.code.encode()).hexdigest(), 16))[:9]
    return partial + uscc.calc_check_digit(partial)


def _entries(db: Session) -> list[tuple[object, str, str]]:
    """(organisation, name, category) for every demo matter, in register order."""
    entries = []
    for org_code, items in CITY_MATTERS.items():
        org = orgs.find_by_code(db, org_code)
        entries += [(org, name, category) for name, category in items] if org else []
    for region in data.COUNTIES:
        for abbr, _ in data.COUNTY_DEPARTMENTS:
            org = orgs.find_by_code(db, f"{region}-{abbr}")
            entries += [(org, name, category) for name, category in COUNTY_MATTERS.get(abbr, [])] if org else []
    for org in orgs.all_orgs(db):
        if org.level == "township":
            entries += [(org, name, category) for name, category in TOWNSHIP_MATTERS]
    return entries


def build(db: Session) -> list[MatterCreate]:
    """The demo register as input for ``matters.create_many`` (deterministic)."""
    entries = _entries(db)
    names = sorted({name for _, name, _ in entries})
    item_number = {name: 100 + i for i, name in enumerate(names)}  # the 基本编码's item part, shared by all bodies
    packaged = {(org, name): key for key, members in PACKAGES.items() for org, name in members}
    specs = []
    for level, (online_shares, full_shares) in SCHEDULES.items():
        rows = [e for e in entries if e[0].level == level]
        rng = random.Random(f"govdata-demo-matters-{level}")
        keyed = []
        for org, name, category in rows:
            key = rng.random() + REGION_BIAS.get(org.region_code, 0.0)
            if (org.code, name) in packaged:
                key -= 0.3  # the one-thing packages' matters went online early (出生一件事, 2020)
            keyed.append((key, org, name, category))
        keyed.sort(key=lambda k: k[0])
        for i, (_, org, name, category) in enumerate(keyed):
            share = (i + 0.5) / len(keyed)
            online = _date_at(share, online_shares)
            full = None if name in EXEMPT or online is None else _date_at(share, full_shares)
            if full is not None and full < online:
                full = online
            trips = rng.choice((1, 1, 2, 2, 3)) if category == "permit" else rng.choice((1, 1, 1, 2))
            days = {"permit": rng.choice((5, 7, 10, 15, 20)), "payment": rng.choice((5, 10, 15)),
                    "ruling": 30}.get(category, rng.choice((0, 0, 1, 3, 5)))
            code = f"{_credit_code(org)}{CATEGORY_NUMBER[category]}{item_number[name]:06d}000"
            specs.append(MatterCreate(code=code, name=name, org_code=org.code, category=category,
                                      online_since=online, fully_online_since=full, exempt=name in EXEMPT,
                                      trips_required=trips, promised_days=days,
                                      package_key=packaged.get((org.code, name))))
    return specs


def load(db: Session) -> int:
    """Create the demo register when the register is empty; returns how many matters were created."""
    if matters.count(db):
        return 0
    specs = build(db)
    return matters.create_many(db, CLI, specs) if specs else 0
