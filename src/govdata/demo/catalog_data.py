"""Liuzhou's government information resources (政务信息资源) as demo catalog data.

Every entry is in the catalog API's input shape. Items bound to a data element (``DE0001`` 姓名 …
``DE0020`` 婚姻状况) use the element's data type and length; ``sensitivity: None`` on an item means
"take the element's (or the resource's) default". Run ``_check()`` after editing.
"""

from __future__ import annotations

import re
from collections import Counter

from govdata.demo import data

# provider → (responsible person, contact phone)
_CONTACTS = {
    "450200-GA": ("韦建华", "0772-2812110"),
    "450200-WJ": ("覃丽萍", "0772-2825326"),
    "450200-JY": ("莫志强", "0772-2826081"),
    "450200-RS": ("黄晓东", "0772-2821907"),
    "450200-YB": ("梁春燕", "0772-2833615"),
    "450200-SJ": ("廖文斌", "0772-2867330"),
    "450200-SW": ("陆海燕", "0772-2856012"),
    "450200-MZ": ("潘永明", "0772-2823540"),
    "450200-ZR": ("石建军", "0772-2834118"),
    "450200-ZJ": ("吴国平", "0772-2828655"),
    "450200-GJJ": ("谢玉兰", "0772-2861220"),
    "450200-DSJ": ("蓝海涛", "0772-2800618"),
    "450202-JY": ("周红梅", "0772-2842015"),
    "450206-WJ": ("韦秀英", "0772-2813266"),
    "450225-RS": ("杨光荣", "0772-2851107"),
    "450203-SP": ("覃伟", "0772-2876120"),
}


def _i(key, name, data_type="C", length=None, *, required=False, pk=False, de=None, sens=None) -> dict:
    """One information item (信息项)."""
    return {"key": key, "name": name, "data_type": data_type, "length": length, "required": required or pk,
            "primary_key": pk, "data_element": de, "sensitivity": sens}


# Items bound to the standard data elements: type and length follow the element.
def _name(key="name", label="姓名", **kw):
    return _i(key, label, "C", 50, de="DE0001", **kw)


def _idno(key="id_number", label="公民身份号码", **kw):
    return _i(key, label, "C", 18, de="DE0002", **kw)


def _sex(key="sex", label="性别", **kw):
    return _i(key, label, "C", 1, de="DE0003", **kw)


def _birth(key="birth_date", label="出生日期", **kw):
    return _i(key, label, "D", None, de="DE0004", **kw)


def _region(key="region_code", label="行政区划代码", **kw):
    return _i(key, label, "C", 6, de="DE0005", **kw)


def _uscc(key="uscc", label="统一社会信用代码", **kw):
    return _i(key, label, "C", 18, de="DE0006", **kw)


def _phone(key="phone", label="手机号码", **kw):
    return _i(key, label, "C", 11, de="DE0007", **kw)


def _addr(key="address", label="地址", **kw):
    return _i(key, label, "C", 200, de="DE0008", **kw)


def _nation(key="ethnic", label="民族", **kw):
    return _i(key, label, "C", 2, de="DE0009", **kw)


def _nationality(key="nationality", label="国籍", **kw):
    return _i(key, label, "C", 3, de="DE0010", **kw)


def _relation(key="relation_to_head", label="与户主关系", **kw):
    return _i(key, label, "C", 2, de="DE0011", **kw)


def _edu(key="education", label="学历", **kw):
    return _i(key, label, "C", 2, de="DE0012", **kw)


def _org(key="org_name", label="单位名称", **kw):
    return _i(key, label, "C", 200, de="DE0013", **kw)


def _legal(key="legal_representative", label="法定代表人", **kw):
    return _i(key, label, "C", 50, de="DE0014", **kw)


def _date(key, label, **kw):
    return _i(key, label, "D", None, de="DE0015", **kw)


def _money(key, label, **kw):
    return _i(key, label, "Y", None, de="DE0016", **kw)


def _cert(key="cert_no", label="证照编号", **kw):
    return _i(key, label, "C", 64, de="DE0019", **kw)


def _marital(key="marital_status", label="婚姻状况", **kw):
    return _i(key, label, "C", 2, de="DE0020", **kw)


def _res(provider, name, classification, fmt, cycle, grade, sensitivity, summary, items, *,
         share="conditional", method="api", condition="", basis="", open_=False, open_condition="",
         person=None, contact=None) -> dict:
    """One resource in the catalog API's input shape."""
    default_person, default_contact = _CONTACTS[provider]
    return {
        "name": name,
        "provider": provider,
        "summary": summary,
        "classification": classification,
        "format": fmt,
        "share_type": share,
        "share_condition": condition,
        "share_method": method,
        "share_basis": basis,
        "open": open_,
        "open_condition": open_condition,
        "update_cycle": cycle,
        "grade": grade,
        "sensitivity": sensitivity,
        "responsible_person": person or default_person,
        "contact": contact or default_contact,
        "items": items,
    }


RESOURCES: list[dict] = [
    # ------------------------------------------------------------------ 柳州市公安局
    _res(
        "450200-GA", "户籍人口登记信息", "基础/人口", "database", "daily", "important", "L4",
        "柳州市户籍人口的户籍登记信息，包括身份、户别、住址及与户主关系等，是人口基础信息库的权威来源。",
        [
            _idno(pk=True),
            _name(required=True),
            _sex(required=True),
            _nation(),
            _birth(required=True),
            _i("birth_place", "出生地", "C", 200),
            _addr("address", "住址", required=True),
            _region("household_region", "户籍地行政区划代码", required=True),
            _i("household_number", "户号", "C", 9, required=True),
            _i("household_type", "户别", "C", 1),
            _relation(),
            _marital(),
            _edu(),
            _date("registration_date", "户籍登记日期"),
            _i("registration_authority", "户籍登记机关", "C", 100),
        ],
        method="database",
        condition="仅限政务服务事项办理中的身份及户籍核验使用，需经市公安局审批，按最小必要原则申请信息项",
    ),
    _res(
        "450200-GA", "出生登记信息", "基础/人口", "database", "daily", "important", "L4",
        "新生儿出生后申报户口登记的信息，含新生儿身份号码、父母身份及落户户号，支撑“出生一件事”联办。",
        [
            _i("registration_no", "出生登记编号", "C", 30, pk=True),
            _name("newborn_name", "新生儿姓名", required=True),
            _sex("newborn_sex", "新生儿性别", required=True),
            _birth("newborn_birth_date", "新生儿出生日期", required=True),
            _idno("newborn_id_number", "新生儿公民身份号码", required=True),
            _cert("birth_cert_no", "出生医学证明编号", required=True),
            _name("mother_name", "母亲姓名"),
            _idno("mother_id_number", "母亲公民身份号码"),
            _name("father_name", "父亲姓名"),
            _idno("father_id_number", "父亲公民身份号码"),
            _i("household_number", "落户户号", "C", 9),
            _region("household_region", "落户地行政区划代码"),
            _date("registration_date", "登记日期", required=True),
            _i("registration_authority", "登记机关", "C", 100),
        ],
        condition="仅限卫健、人社、医保部门办理新生儿出生一件事联办业务使用，需经市公安局审批",
    ),
    _res(
        "450200-GA", "居住证信息", "基础/电子证照", "database", "daily", "general", "L3",
        "在柳州市居住半年以上的非本市户籍人员申领的居住证信息，含签注状态和有效期。",
        [
            _cert("permit_no", "居住证编号", pk=True),
            _idno(required=True),
            _name(required=True),
            _sex(),
            _birth(),
            _region("household_region", "户籍地行政区划代码"),
            _addr("residence_address", "居住地址", required=True),
            _date("issue_date", "签发日期", required=True),
            _date("valid_until", "有效期至"),
            _i("endorsement_status", "签注状态", "C", 1),
            _i("issuing_authority", "签发机关", "C", 100),
            _phone(),
        ],
        condition="仅限随迁子女入学、公积金缴存及住房保障等政务服务核验持证情况使用，需经市公安局审批",
    ),
    _res(
        "450200-GA", "公章刻制备案信息", "基础/法人", "database", "realtime", "general", "L2",
        "企业及其他组织新刻或补刻公章、财务章、发票专用章等印章的备案信息，含印模图像。",
        [
            _i("filing_no", "备案编号", "C", 30, pk=True),
            _uscc(required=True),
            _org("org_name", "用章单位名称", required=True),
            _i("seal_type", "印章类型", "C", 2, required=True),
            _i("seal_quantity", "刻制数量", "I"),
            _org("engraver_name", "刻制单位名称"),
            _uscc("engraver_uscc", "刻制单位统一社会信用代码"),
            _date("filing_date", "备案日期", required=True),
            _name("handler_name", "经办人姓名"),
            _idno("handler_id_number", "经办人公民身份号码"),
            _i("seal_image", "印模图像", "G"),
        ],
        share="unconditional",
    ),
    _res(
        "450200-GA", "机动车登记信息", "主题/交通出行", "database", "daily", "important", "L3",
        "柳州市登记机动车的号牌、车辆识别代号、所有人及检验有效期等信息。",
        [
            _i("vin", "车辆识别代号", "C", 17, pk=True),
            _i("plate_no", "号牌号码", "C", 15, required=True),
            _i("plate_type", "号牌种类", "C", 2),
            _i("vehicle_type", "车辆类型", "C", 3),
            _i("brand_model", "品牌型号", "C", 100),
            _name("owner_name", "机动车所有人"),
            _idno("owner_id_number", "所有人公民身份号码"),
            _uscc("owner_uscc", "所有人统一社会信用代码"),
            _date("first_registration_date", "初次登记日期"),
            _i("vehicle_status", "机动车状态", "C", 1),
            _date("inspection_valid_until", "检验有效期止"),
        ],
        method="database",
        condition="仅限交通运输、税务、不动产及社会救助家庭经济状况核对使用，需经市公安局交警支队审批",
    ),
    _res(
        "450200-GA", "机动车驾驶证信息", "基础/电子证照", "database", "daily", "general", "L3",
        "柳州市核发的机动车驾驶证信息，含准驾车型、有效期和累积记分。",
        [
            _i("archive_no", "档案编号", "C", 12, pk=True),
            _idno(required=True),
            _name(required=True),
            _sex(),
            _i("permitted_class", "准驾车型", "C", 10, required=True),
            _date("first_issue_date", "初次领证日期"),
            _date("valid_from", "有效期起始日期"),
            _date("valid_until", "有效期截止日期"),
            _i("license_status", "驾驶证状态", "C", 1),
            _i("penalty_points", "累积记分", "I"),
        ],
        condition="仅限道路运输从业资格审核及网约车驾驶员资质核验使用，需经市公安局交警支队审批",
    ),
    _res(
        "450200-GA", "刑事案件侦查信息", "部门/450200-GA", "database", "realtime", "core", "L4",
        "公安机关办理刑事案件的立案、侦查措施及涉案人员信息，属侦查工作秘密。",
        [
            _i("case_no", "案件编号", "C", 23, pk=True),
            _i("case_name", "案件名称", "C", 200, required=True),
            _i("case_category", "案件类别", "C", 6),
            _date("filing_date", "立案日期", required=True),
            _addr("incident_location", "案发地点"),
            _name("suspect_name", "犯罪嫌疑人姓名", sens="L4"),
            _idno("suspect_id_number", "犯罪嫌疑人公民身份号码"),
            _i("investigation_measures", "侦查措施", "M", sens="L4"),
            _org("handling_unit", "办案单位"),
            _i("case_status", "案件状态", "C", 2),
        ],
        share="none", method="database",
        basis="《中华人民共和国刑事诉讼法》第一百五十二条；《中华人民共和国保守国家秘密法》第十三条",
    ),
    _res(
        "450200-GA", "道路交通事故信息", "主题/交通出行", "database", "daily", "general", "L2",
        "柳州市辖区内道路交通事故的时间、地点、伤亡和责任认定信息。",
        [
            _i("accident_no", "事故编号", "C", 30, pk=True),
            _i("accident_time", "事故发生时间", "T", required=True),
            _addr("accident_location", "事故地点", required=True),
            _region(),
            _i("accident_type", "事故形态", "C", 2),
            _i("deaths", "死亡人数", "I"),
            _i("injuries", "受伤人数", "I"),
            _money("property_loss", "直接财产损失"),
            _i("responsibility_finding", "责任认定", "M"),
            _org("handling_unit", "处理单位"),
        ],
        condition="仅限交通运输、应急管理部门开展道路隐患治理及安全监管使用，不得用于其他用途",
        person="罗志勇", contact="0772-2812216",
    ),
    _res(
        "450200-GA", "重点区域视频监控资源目录", "主题/公共安全", "streaming", "realtime", "important", "L3",
        "全市公共安全视频监控建设联网应用中重点区域摄像机点位及实时视频流资源。",
        [
            _i("camera_code", "摄像机编码", "C", 20, pk=True),
            _i("camera_name", "摄像机名称", "C", 100, required=True),
            _addr("install_location", "安装位置"),
            _region(),
            _i("longitude", "经度", "F"),
            _i("latitude", "纬度", "F"),
            _i("camera_type", "摄像机类型", "C", 2),
            _i("stream_url", "视频流地址", "C", 500, sens="L3"),
            _org("managing_unit", "管理单位"),
            _i("online", "是否在线", "L"),
        ],
        condition="仅限公安、应急、城管、交通部门履行公共安全职责时调阅，调阅需经市公安局审批并全程留痕",
        person="罗志勇", contact="0772-2812216",
    ),
    # ------------------------------------------------------------------ 柳州市卫生健康委员会
    _res(
        "450200-WJ", "出生医学证明信息", "基础/电子证照", "database", "realtime", "important", "L4",
        "全市助产机构签发的《出生医学证明》信息，是办理出生登记、社保卡和医保参保的依据。",
        [
            _cert("cert_no", "出生医学证明编号", pk=True),
            _name("newborn_name", "新生儿姓名", required=True),
            _sex("newborn_sex", "新生儿性别", required=True),
            _birth("newborn_birth_date", "出生日期", required=True),
            _i("birth_weight", "出生体重(克)", "I"),
            _i("gestational_weeks", "出生孕周", "I"),
            _addr("birth_place", "出生地点"),
            _name("mother_name", "母亲姓名", required=True),
            _idno("mother_id_number", "母亲公民身份号码", required=True),
            _name("father_name", "父亲姓名"),
            _idno("father_id_number", "父亲公民身份号码"),
            _org("hospital_name", "接生机构名称", required=True),
            _date("issue_date", "签发日期", required=True),
        ],
        condition="仅限公安出生登记、人社社保卡申领、医保参保登记等出生一件事联办使用，需经市卫健委审批",
    ),
    _res(
        "450200-WJ", "预防接种信息", "主题/医疗健康", "database", "daily", "important", "L3",
        "儿童免疫规划疫苗及非免疫规划疫苗的接种记录，用于入托入学预防接种证查验。",
        [
            _i("record_no", "接种记录编号", "C", 32, pk=True),
            _idno("child_id_number", "受种者公民身份号码", required=True),
            _name("child_name", "受种者姓名", required=True),
            _i("vaccine_code", "疫苗代码", "C", 4, required=True),
            _i("vaccine_name", "疫苗名称", "C", 100, required=True),
            _i("dose_no", "剂次", "I", required=True),
            _date("vaccination_date", "接种日期", required=True),
            _i("batch_no", "疫苗批号", "C", 30),
            _org("vaccination_unit", "接种单位", required=True),
            _i("vaccination_site", "接种部位", "C", 2),
            _org("manufacturer", "疫苗生产企业"),
        ],
        condition="仅限教育部门入托入学预防接种证查验使用，只提供查验所需信息项，需经市卫健委审批",
    ),
    _res(
        "450200-WJ", "死亡医学证明信息", "基础/电子证照", "database", "daily", "important", "L3",
        "医疗卫生机构出具的《居民死亡医学证明(推断)书》信息，用于户籍注销及身后事联办。",
        [
            _cert("cert_no", "死亡医学证明编号", pk=True),
            _name("deceased_name", "死者姓名", required=True),
            _idno("deceased_id_number", "死者公民身份号码", required=True),
            _sex(),
            _birth(),
            _date("death_date", "死亡日期", required=True),
            _i("death_place_type", "死亡地点类别", "C", 2),
            _i("underlying_cause", "根本死因", "C", 200, sens="L3"),
            _i("icd10_code", "根本死因ICD-10编码", "C", 10, sens="L3"),
            _org("issuing_unit", "签发机构", required=True),
            _date("issue_date", "签发日期", required=True),
            _name("informant_name", "申报人姓名"),
            _addr("household_address", "户籍地址"),
        ],
        condition="仅限公安户籍注销、民政殡葬管理、人社及医保待遇停发使用，不含死因信息项的需单独审批",
    ),
    _res(
        "450200-WJ", "医疗机构名录", "主题/医疗健康", "database", "monthly", "general", "L1",
        "全市经执业登记的医院、基层医疗卫生机构及专业公共卫生机构名录。",
        [
            _uscc("institution_uscc", "机构统一社会信用代码", pk=True),
            _org("institution_name", "机构名称", required=True),
            _cert("license_no", "医疗机构执业许可证登记号", sens="L1"),
            _i("category", "机构类别", "C", 4),
            _i("hospital_level", "医院等级", "C", 10),
            _i("ownership", "经济类型", "C", 2),
            _addr("address", "地址", sens="L1"),
            _region(),
            _i("service_phone", "咨询电话", "C", 20),
            _i("approved_beds", "核定床位数", "I"),
            _i("clinical_departments", "诊疗科目", "M"),
            _date("license_valid_until", "许可证有效期至"),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-WJ", "医师执业注册信息", "基础/电子证照", "database", "weekly", "general", "L2",
        "在柳州市注册执业的医师的执业类别、执业范围及主要执业机构信息。",
        [
            _cert("practice_cert_no", "医师执业证书编码", pk=True),
            _name(required=True),
            _sex(),
            _i("practice_category", "执业类别", "C", 10),
            _i("practice_scope", "执业范围", "C", 100),
            _org("practice_institution", "主要执业机构"),
            _i("physician_level", "医师级别", "C", 10),
            _date("registration_date", "注册日期"),
            _i("status", "执业状态", "C", 1),
        ],
        share="unconditional",
    ),
    _res(
        "450200-WJ", "居民电子健康档案信息", "主题/医疗健康", "database", "daily", "important", "L4",
        "城乡居民电子健康档案，含既往史、过敏史和慢病管理等个人健康信息。",
        [
            _i("health_record_no", "健康档案编号", "C", 17, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("blood_type", "血型", "C", 1, sens="L4"),
            _i("allergy_history", "过敏史", "M", sens="L4"),
            _i("medical_history", "既往史", "M", sens="L4"),
            _i("chronic_disease", "慢性病管理类别", "C", 20, sens="L4"),
            _i("family_doctor_team", "家庭医生团队", "C", 100),
            _org("managing_institution", "建档机构"),
            _date("created_date", "建档日期"),
        ],
        share="none", method="database",
        basis="《中华人民共和国基本医疗卫生与健康促进法》第九十二条；《中华人民共和国个人信息保护法》第二十八条",
    ),
    _res(
        "450200-WJ", "法定传染病疫情统计信息", "主题/医疗健康", "spreadsheet", "monthly", "general", "L1",
        "按月、按县区汇总的法定传染病发病数、死亡数和发病率，不含个案信息。",
        [
            _i("stat_id", "统计记录编号", "C", 20, pk=True),
            _i("stat_month", "统计月份", "C", 6, required=True),
            _region(required=True),
            _i("disease_class", "传染病类别", "C", 2),
            _i("disease_name", "病种名称", "C", 50, required=True),
            _i("cases", "发病数", "I"),
            _i("deaths", "死亡数", "I"),
            _i("incidence_rate", "发病率(1/10万)", "F"),
        ],
        share="unconditional", method="file", open_=True,
        person="黄玉珍", contact="0772-2825871",
    ),
    # ------------------------------------------------------------------ 柳州市教育局
    _res(
        "450200-JY", "学籍信息", "主题/教育文化", "database", "daily", "important", "L4",
        "全市中小学、幼儿园在校学生的电子学籍信息，含就读学校、年级和学籍状态。",
        [
            _idno("student_id_number", "学生公民身份号码", pk=True),
            _i("national_student_no", "全国学籍号", "C", 19, required=True),
            _name(required=True),
            _sex(),
            _birth(),
            _nation(),
            _org("school_name", "就读学校", required=True),
            _i("school_code", "学校标识码", "C", 10),
            _i("grade", "年级", "C", 2, required=True),
            _i("class_name", "班级", "C", 20),
            _date("enrolment_date", "入学日期", required=True),
            _i("status", "学籍状态", "C", 2),
            _name("guardian_name", "监护人姓名"),
            _phone("guardian_phone", "监护人手机号码"),
            _region("household_region", "户籍所在地行政区划代码"),
        ],
        method="database",
        condition="仅限学生资助、医保参保及随迁子女服务等业务核验在读情况使用，涉及未成年人信息需经市教育局审批",
    ),
    _res(
        "450200-JY", "学校名录", "主题/教育文化", "database", "yearly", "general", "L1",
        "全市经审批设立的幼儿园、中小学、中等职业学校名录及招生片区。",
        [
            _i("school_code", "学校标识码", "C", 10, pk=True),
            _org("school_name", "学校名称", required=True),
            _uscc(),
            _i("school_type", "办学类型", "C", 3),
            _i("school_nature", "办学性质", "C", 1),
            _region(),
            _addr("address", "学校地址", sens="L1"),
            _legal("principal", "校长(法定代表人)", sens="L1"),
            _i("office_phone", "办公电话", "C", 20),
            _i("enrolment_area", "招生片区", "M"),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450200-JY", "义务教育招生入学报名信息", "主题/教育文化", "database", "daily", "important", "L4",
        "适龄儿童小学一年级、初中一年级网上报名信息，含户籍、居住及房产或租赁材料。",
        [
            _i("application_no", "报名编号", "C", 30, pk=True),
            _idno("child_id_number", "儿童公民身份号码", required=True),
            _name("child_name", "儿童姓名", required=True),
            _sex("child_sex", "儿童性别"),
            _birth("child_birth_date", "儿童出生日期"),
            _org("applying_school", "报名学校", required=True),
            _i("application_category", "报名类别", "C", 2),
            _addr("household_address", "户籍地址"),
            _addr("residence_address", "实际居住地址"),
            _name("guardian_name", "监护人姓名", required=True),
            _idno("guardian_id_number", "监护人公民身份号码", required=True),
            _phone("guardian_phone", "监护人手机号码"),
            _cert("housing_proof_no", "房产或租赁备案证明编号"),
            _date("application_date", "报名日期", required=True),
            _i("admission_result", "录取结果", "C", 2),
        ],
        condition="仅限公安、自然资源、住建、人社部门回传入学资格核验结果使用，需经市教育局审批",
    ),
    _res(
        "450200-JY", "教师资格证书信息", "基础/电子证照", "database", "monthly", "general", "L3",
        "市、县教育行政部门认定的教师资格证书信息。",
        [
            _cert("cert_no", "教师资格证书编号", pk=True),
            _name(required=True),
            _sex(),
            _idno(required=True),
            _i("qualification_type", "资格种类", "C", 20, required=True),
            _i("subject", "任教学科", "C", 50),
            _org("issuing_authority", "认定机构"),
            _date("issue_date", "发证日期"),
        ],
        share="unconditional",
    ),
    _res(
        "450200-JY", "学生资助信息", "主题/教育文化", "database", "quarterly", "important", "L4",
        "家庭经济困难学生获得的国家助学金、免学费及生活补助等资助发放信息。",
        [
            _i("record_no", "资助记录编号", "C", 30, pk=True),
            _idno("student_id_number", "学生公民身份号码", required=True),
            _name(required=True),
            _org("school_name", "就读学校"),
            _i("aid_type", "资助项目", "C", 2, required=True),
            _money("aid_amount", "资助金额", required=True),
            _i("aid_year", "资助学年", "C", 9),
            _i("hardship_type", "家庭经济困难类型", "C", 2, sens="L4"),
            _date("grant_date", "发放日期"),
        ],
        method="database",
        condition="仅限民政、乡村振兴部门开展救助对象比对及防止重复资助使用，不得对外公开学生名单",
        person="陈丽娟", contact="0772-2826233",
    ),
    _res(
        "450200-JY", "校外培训机构名录", "主题/教育文化", "database", "monthly", "general", "L1",
        "经审批的面向中小学生的校外培训机构(白名单)及其资金监管银行信息。",
        [
            _uscc("uscc", "统一社会信用代码", pk=True),
            _org("institution_name", "机构名称", required=True),
            _cert("permit_no", "办学许可证编号", sens="L1"),
            _i("training_category", "培训类别", "C", 2),
            _addr("address", "培训场所地址", sens="L1"),
            _region(),
            _legal(sens="L1"),
            _date("approval_date", "审批日期"),
            _i("supervision_bank", "资金监管银行", "C", 100),
            _i("status", "经营状态", "C", 1),
        ],
        share="unconditional", open_=True,
        person="陈丽娟", contact="0772-2826233",
    ),
    _res(
        "450200-JY", "学生心理健康测评信息", "部门/450200-JY", "database", "half_yearly", "important", "L4",
        "中小学生心理健康筛查测评结果及学校跟踪干预记录。",
        [
            _i("assessment_no", "测评编号", "C", 30, pk=True),
            _idno("student_id_number", "学生公民身份号码", required=True),
            _name(required=True),
            _org("school_name", "就读学校"),
            _i("scale_name", "测评量表", "C", 50),
            _i("risk_level", "风险等级", "C", 1, sens="L4"),
            _i("intervention_record", "干预记录", "M", sens="L4"),
            _date("assessment_date", "测评日期", required=True),
        ],
        share="none", method="database",
        basis="《中华人民共和国精神卫生法》第四条；《中华人民共和国未成年人保护法》第七十二条",
    ),
    # ------------------------------------------------------------------ 柳州市人力资源和社会保障局
    _res(
        "450200-RS", "社会保险参保信息", "主题/社会保障", "database", "daily", "important", "L3",
        "职工养老、失业、工伤保险及城乡居民养老保险的参保登记和缴费状态信息。",
        [
            _idno(pk=True),
            _name(required=True),
            _sex(),
            _i("insurance_type", "险种类型", "C", 3, pk=True),
            _date("start_date", "参保日期", required=True),
            _i("insured_status", "参保状态", "C", 1, required=True),
            _org("employer_name", "参保单位名称"),
            _uscc("employer_uscc", "参保单位统一社会信用代码"),
            _money("contribution_base", "缴费基数", sens="L3"),
            _i("paid_months", "累计缴费月数", "I"),
            _region("insured_region", "参保地行政区划代码"),
            _i("last_paid_month", "最近缴费年月", "C", 6),
        ],
        condition="仅限随迁子女入学、人才引进、住房保障等需核验社保缴纳情况的政务服务使用，需经市人社局审批",
    ),
    _res(
        "450200-RS", "社会保障卡信息", "基础/电子证照", "database", "daily", "general", "L3",
        "全市制发的第三代社会保障卡及电子社保卡的申领、制发与卡状态信息。",
        [
            _i("card_no", "社会保障卡卡号", "C", 9, pk=True),
            _idno(required=True),
            _name(required=True),
            _sex(),
            _i("card_version", "卡规范版本", "C", 4),
            _date("issue_date", "发卡日期"),
            _date("valid_until", "有效期至"),
            _i("card_status", "卡状态", "C", 1, required=True),
            _i("bank_name", "金融账户开户银行", "C", 50),
            _region("issuing_region", "发卡地行政区划代码"),
            _i("application_channel", "申领渠道", "C", 2),
        ],
        condition="仅限医保结算、惠民惠农补贴发放及身份核验使用，不含金融账户号，需经市人社局审批",
    ),
    _res(
        "450200-RS", "就业登记信息", "主题/社会保障", "database", "monthly", "general", "L3",
        "劳动者在用人单位就业或灵活就业的登记信息。",
        [
            _i("registration_no", "就业登记编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _org("employer_name", "用人单位名称"),
            _uscc("employer_uscc", "用人单位统一社会信用代码"),
            _i("employment_form", "就业形式", "C", 2),
            _date("start_date", "就业日期", required=True),
            _date("end_date", "终止日期"),
            _i("contract_type", "劳动合同类型", "C", 1),
            _edu(),
        ],
        method="database",
        condition="仅限就业补贴审核、低保家庭收入核对及统计分析使用，需经市人社局审批",
        person="秦国强", contact="0772-2821566",
    ),
    _res(
        "450200-RS", "职业技能等级证书信息", "基础/电子证照", "database", "monthly", "general", "L3",
        "经备案的评价机构颁发的职业技能等级证书信息，可用于技能补贴申领和人才认定。",
        [
            _cert("cert_no", "证书编号", pk=True),
            _name(required=True),
            _idno(required=True),
            _i("occupation", "职业(工种)", "C", 100, required=True),
            _i("skill_level", "技能等级", "C", 1, required=True),
            _org("assessment_org", "评价机构"),
            _date("issue_date", "发证日期"),
        ],
        share="unconditional",
        person="秦国强", contact="0772-2821566",
    ),
    _res(
        "450200-RS", "人力资源服务机构名录", "主题/社会保障", "database", "quarterly", "general", "L1",
        "取得人力资源服务许可证或备案的经营性人力资源服务机构名录。",
        [
            _cert("license_no", "人力资源服务许可证编号", pk=True, sens="L1"),
            _org("org_name", "机构名称", required=True),
            _uscc(required=True),
            _legal(sens="L1"),
            _addr("address", "服务场所地址", sens="L1"),
            _i("service_scope", "服务范围", "M"),
            _date("issue_date", "发证日期"),
            _date("valid_until", "有效期至"),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450200-RS", "养老保险待遇发放信息", "主题/社会保障", "database", "monthly", "important", "L3",
        "企业职工及城乡居民基本养老保险待遇核定和按月发放信息。",
        [
            _i("record_no", "待遇记录编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("benefit_type", "待遇类别", "C", 2),
            _money("monthly_amount", "月发放金额", sens="L3"),
            _i("start_month", "待遇起始年月", "C", 6),
            _i("payment_status", "发放状态", "C", 1, required=True),
            _date("retirement_date", "退休日期"),
            _i("bank_name", "代发银行", "C", 100),
        ],
        method="database",
        condition="仅限民政、医保部门开展救助对象认定及待遇重复领取比对使用，需经市人社局审批",
    ),
    # ------------------------------------------------------------------ 柳州市医疗保障局
    _res(
        "450200-YB", "城乡居民医保参保信息", "主题/社会保障", "database", "daily", "important", "L3",
        "城乡居民基本医疗保险参保登记、缴费年度及资助参保类别信息。",
        [
            _idno(pk=True),
            _name(required=True),
            _sex(),
            _birth(),
            _region("insured_region", "参保地行政区划代码", required=True),
            _date("insured_date", "参保日期", required=True),
            _i("insured_status", "参保状态", "C", 1, required=True),
            _i("payment_year", "缴费年度", "C", 4),
            _money("personal_payment", "个人缴费金额"),
            _i("subsidy_category", "资助参保类别", "C", 2, sens="L4"),
            _addr("household_address", "户籍地址"),
        ],
        condition="仅限出生一件事、学生参保及救助对象资助参保核验使用，需经市医保局审批",
    ),
    _res(
        "450200-YB", "职工基本医疗保险参保信息", "主题/社会保障", "database", "daily", "important", "L3",
        "用人单位职工基本医疗保险参保登记和缴费状态信息。",
        [
            _idno(pk=True),
            _name(required=True),
            _org("employer_name", "参保单位名称"),
            _uscc("employer_uscc", "参保单位统一社会信用代码"),
            _date("insured_date", "参保日期"),
            _i("insured_status", "参保状态", "C", 1, required=True),
            _money("account_balance", "个人账户余额", sens="L4"),
            _region("insured_region", "参保地行政区划代码"),
        ],
        method="database",
        condition="仅限核验参保状态使用，个人账户余额信息项不予提供，需经市医保局审批",
    ),
    _res(
        "450200-YB", "医保定点医药机构名录", "主题/医疗健康", "database", "monthly", "general", "L1",
        "与医保经办机构签订服务协议的定点医疗机构和定点零售药店名录。",
        [
            _i("fixed_point_code", "定点医药机构编码", "C", 12, pk=True),
            _org("institution_name", "机构名称", required=True),
            _uscc(),
            _i("institution_type", "机构类型", "C", 1),
            _i("institution_level", "机构等级", "C", 10),
            _addr("address", "地址", sens="L1"),
            _region(),
            _date("agreement_date", "协议签订日期"),
            _i("cross_province_settlement", "是否开通跨省直接结算", "L"),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-YB", "医疗费用结算明细信息", "部门/450200-YB", "database", "realtime", "important", "L4",
        "参保人员门诊、住院医疗费用医保结算明细，含诊断信息。",
        [
            _i("settlement_no", "结算流水号", "C", 40, pk=True),
            _idno(required=True),
            _name(required=True),
            _org("institution_name", "就诊机构"),
            _i("visit_type", "就诊类别", "C", 2),
            _i("diagnosis", "出院诊断", "C", 200, sens="L4"),
            _money("total_cost", "医疗费用总额"),
            _money("fund_payment", "统筹基金支付"),
            _money("personal_payment", "个人自付"),
            _date("settlement_date", "结算日期", required=True),
        ],
        share="none", method="database",
        basis="《中华人民共和国个人信息保护法》第二十八条、第二十九条",
    ),
    _res(
        "450200-YB", "医疗救助信息", "主题/社会保障", "database", "quarterly", "important", "L4",
        "特困、低保等救助对象获得的医疗救助核定及支付信息。",
        [
            _i("record_no", "救助记录编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("aid_category", "救助对象类别", "C", 2, sens="L4"),
            _money("aid_amount", "救助金额"),
            _date("aid_date", "救助日期"),
            _org("institution_name", "就诊机构"),
            _region(),
        ],
        method="database",
        condition="仅限民政部门开展救助对象动态管理使用，不得对外公开救助对象名单，需经市医保局审批",
        person="何志明", contact="0772-2833728",
    ),
    # ------------------------------------------------------------------ 柳州市市场监督管理局
    _res(
        "450200-SJ", "营业执照信息", "基础/法人", "database", "realtime", "general", "L2",
        "全市各类市场主体的营业执照登记信息，是法人基础信息库的权威来源。",
        [
            _uscc(pk=True),
            _org("company_name", "企业名称", required=True),
            _legal(required=True),
            _money("registered_capital", "注册资本(万元)"),
            _i("company_type", "企业类型", "C", 4),
            _date("establishment_date", "成立日期", required=True),
            _addr("address", "住所", required=True),
            _i("business_scope", "经营范围", "M"),
            _org("registration_authority", "登记机关", required=True),
            _date("business_term_to", "营业期限至"),
            _i("registration_status", "登记状态", "C", 2),
            _date("approval_date", "核准日期"),
            _region(),
        ],
        share="unconditional", method="database",
    ),
    _res(
        "450200-SJ", "企业登记公示信息", "基础/法人", "database", "daily", "general", "L1",
        "依据《企业信息公示暂行条例》应当向社会公示的企业登记信息。",
        [
            _uscc(pk=True),
            _org("company_name", "企业名称", required=True),
            _legal(sens="L1"),
            _i("company_type", "企业类型", "C", 4),
            _date("establishment_date", "成立日期"),
            _money("registered_capital", "注册资本(万元)"),
            _addr("address", "住所", sens="L1"),
            _org("registration_authority", "登记机关"),
            _i("registration_status", "登记状态", "C", 2),
            _date("approval_date", "核准日期"),
            _i("business_scope", "经营范围", "M"),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-SJ", "药品零售企业名录", "主题/医疗健康", "database", "monthly", "general", "L1",
        "持有《药品经营许可证》的药品零售及零售连锁企业(药店)名录。",
        [
            _cert("license_no", "药品经营许可证编号", pk=True, sens="L1"),
            _org("company_name", "企业名称", required=True),
            _uscc(),
            _legal(sens="L1"),
            _addr("address", "经营地址", sens="L1"),
            _region(),
            _i("business_mode", "经营方式", "C", 2),
            _i("business_scope", "经营范围", "M"),
            _date("issue_date", "发证日期"),
            _date("valid_until", "有效期至"),
        ],
        share="unconditional", method="file", open_=True,
        person="莫小燕", contact="0772-2867415",
    ),
    _res(
        "450200-SJ", "食品经营许可证信息", "基础/电子证照", "database", "weekly", "general", "L1",
        "食品销售、餐饮服务经营者取得的食品经营许可证信息。",
        [
            _cert("license_no", "食品经营许可证编号", pk=True, sens="L1"),
            _org("operator_name", "经营者名称", required=True),
            _uscc(),
            _legal(sens="L1"),
            _addr("address", "经营场所", sens="L1"),
            _i("main_business", "主体业态", "C", 50),
            _i("business_items", "经营项目", "M"),
            _date("issue_date", "发证日期"),
            _date("valid_until", "有效期至"),
            _org("issuing_authority", "发证机关"),
        ],
        share="unconditional", open_=True,
        person="莫小燕", contact="0772-2867415",
    ),
    _res(
        "450200-SJ", "经营异常名录信息", "基础/社会信用", "database", "daily", "general", "L1",
        "因未按期公示年报、通过登记住所无法联系等原因被列入经营异常名录的企业信息。",
        [
            _i("record_no", "列入记录编号", "C", 30, pk=True),
            _uscc(required=True),
            _org("company_name", "企业名称", required=True),
            _i("inclusion_reason", "列入原因", "C", 200),
            _date("inclusion_date", "列入日期", required=True),
            _org("deciding_authority", "作出决定机关"),
            _date("removal_date", "移出日期"),
            _i("removal_reason", "移出原因", "C", 200),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-SJ", "行政处罚信息", "基础/社会信用", "database", "weekly", "general", "L1",
        "市场监管部门对法人和非法人组织作出的行政处罚决定，按“双公示”要求公开。",
        [
            _i("decision_no", "行政处罚决定书文号", "C", 100, pk=True),
            _org("party_name", "当事人名称", required=True),
            _uscc(),
            _legal(sens="L1"),
            _i("violation_type", "违法行为类型", "C", 200),
            _i("legal_basis", "处罚依据", "M"),
            _i("penalty_content", "处罚内容", "M"),
            _money("fine_amount", "罚没款金额(万元)"),
            _date("decision_date", "处罚决定日期", required=True),
            _org("authority", "处罚机关"),
            _date("publicity_deadline", "公示截止期"),
        ],
        share="unconditional", open_=True,
        open_condition="公示期满后不再开放",
    ),
    _res(
        "450200-SJ", "特种设备使用登记信息", "部门/450200-SJ", "database", "monthly", "general", "L2",
        "电梯、锅炉、压力容器、起重机械等特种设备的使用登记及定期检验信息。",
        [
            _cert("registration_cert_no", "使用登记证编号", pk=True),
            _i("equipment_code", "设备代码", "C", 20, required=True),
            _i("equipment_category", "设备类别", "C", 4),
            _org("user_org", "使用单位名称"),
            _uscc("user_uscc", "使用单位统一社会信用代码"),
            _addr("install_address", "设备安装地址"),
            _date("registration_date", "登记日期"),
            _date("next_inspection_date", "下次检验日期"),
            _i("status", "设备状态", "C", 1),
        ],
        share="unconditional", method="file",
    ),
    # ------------------------------------------------------------------ 国家税务总局柳州市税务局
    _res(
        "450200-SW", "纳税人登记信息", "基础/法人", "database", "daily", "important", "L3",
        "单位纳税人的税务登记(信息确认)、纳税人状态及增值税纳税人类型信息。",
        [
            _uscc("taxpayer_id", "纳税人识别号", pk=True),
            _org("taxpayer_name", "纳税人名称", required=True),
            _legal(),
            _i("registration_type", "登记注册类型", "C", 3),
            _i("taxpayer_status", "纳税人状态", "C", 2, required=True),
            _i("vat_taxpayer_type", "增值税纳税人类型", "C", 1),
            _org("competent_authority", "主管税务机关"),
            _date("registration_date", "登记日期"),
            _i("industry_code", "国民经济行业代码", "C", 4),
            _addr("business_address", "生产经营地址"),
            _name("finance_officer", "财务负责人"),
            _phone("finance_officer_phone", "财务负责人手机号码"),
        ],
        method="database",
        condition="仅限企业开办、注销及信用监管中核验税务登记状态使用，需经市税务局审批并签订保密协议",
    ),
    _res(
        "450200-SW", "发票领用信息", "主题/财税金融", "database", "realtime", "general", "L2",
        "纳税人首次及日常领用发票、税务UKey发放和开票限额信息。",
        [
            _i("record_no", "领用记录编号", "C", 30, pk=True),
            _uscc("taxpayer_id", "纳税人识别号", required=True),
            _org("taxpayer_name", "纳税人名称"),
            _i("invoice_type", "发票种类", "C", 20, required=True),
            _i("quantity", "领用数量", "I"),
            _money("max_invoice_amount", "单张最高开票限额"),
            _date("issue_date", "领用日期", required=True),
            _i("tax_device_type", "税控设备类型", "C", 20),
            _org("handling_authority", "办理税务机关"),
        ],
        condition="仅限企业开办一件事办理进度查询使用，不含开票明细，需经市税务局审批",
    ),
    _res(
        "450200-SW", "纳税信用A级纳税人名单", "基础/社会信用", "spreadsheet", "yearly", "general", "L1",
        "年度纳税信用评价结果为A级的纳税人名单，按规定向社会公开。",
        [
            _uscc("taxpayer_id", "纳税人识别号", pk=True),
            _i("evaluation_year", "评价年度", "C", 4, pk=True),
            _org("taxpayer_name", "纳税人名称", required=True),
            _i("credit_level", "信用级别", "C", 1, required=True),
            _org("competent_authority", "主管税务机关"),
            _date("publish_date", "发布日期"),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450200-SW", "个人所得税纳税明细信息", "部门/450200-SW", "database", "monthly", "important", "L4",
        "自然人个人所得税分项所得、已缴税款及扣缴义务人明细。",
        [
            _i("record_no", "明细记录编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("income_item", "所得项目", "C", 2),
            _money("income_amount", "收入额", sens="L4"),
            _money("tax_paid", "已缴税额", sens="L4"),
            _i("tax_period", "税款所属期", "C", 6),
            _org("withholding_agent", "扣缴义务人名称"),
            _uscc("withholding_agent_id", "扣缴义务人纳税人识别号"),
            _org("tax_authority", "主管税务机关"),
        ],
        share="none", method="database",
        basis="《中华人民共和国税收征收管理法》第八条；《纳税人涉税保密信息管理暂行办法》第二条",
    ),
    _res(
        "450200-SW", "企业完税信息", "主题/财税金融", "database", "monthly", "general", "L2",
        "企业按税种、所属期缴纳税款的电子缴款凭证信息。",
        [
            _i("payment_no", "电子缴款凭证号", "C", 30, pk=True),
            _uscc("taxpayer_id", "纳税人识别号", required=True),
            _org("taxpayer_name", "纳税人名称"),
            _i("tax_type", "税种", "C", 5, required=True),
            _date("period_start", "所属期起"),
            _date("period_end", "所属期止"),
            _money("amount", "实缴金额", required=True),
            _date("payment_date", "缴款日期"),
            _i("treasury", "收款国库", "C", 100),
        ],
        condition="仅限政府采购、招投标资格审查及产业扶持资金审核使用，需经企业授权并经市税务局审批",
        person="甘文杰", contact="0772-2856230",
    ),
    _res(
        "450200-SW", "重大税收违法失信主体信息", "基础/社会信用", "database", "monthly", "general", "L1",
        "达到重大税收违法失信主体标准并按规定向社会公布的案件信息。",
        [
            _i("case_no", "案件编号", "C", 30, pk=True),
            _org("taxpayer_name", "纳税人名称", required=True),
            _uscc("taxpayer_id", "纳税人识别号"),
            _legal(sens="L1"),
            _addr("registered_address", "注册地址", sens="L1"),
            _i("main_violation", "主要违法事实", "M"),
            _i("penalty", "相关法律依据及税务处理处罚情况", "M"),
            _date("publish_date", "公布日期"),
            _org("inspection_authority", "检查机关"),
        ],
        share="unconditional", open_=True,
        person="甘文杰", contact="0772-2856230",
    ),
    # ------------------------------------------------------------------ 柳州市民政局
    _res(
        "450200-MZ", "婚姻登记信息", "基础/人口", "database", "daily", "important", "L4",
        "结婚、离婚、补领婚姻登记证的登记信息，含双方身份与登记前婚姻状况。",
        [
            _cert("cert_no", "婚姻登记证字号", pk=True),
            _i("registration_type", "登记类别", "C", 1, required=True),
            _name("male_name", "男方姓名", required=True),
            _idno("male_id_number", "男方公民身份号码", required=True),
            _nationality("male_nationality", "男方国籍"),
            _marital("male_prior_status", "男方登记前婚姻状况"),
            _name("female_name", "女方姓名", required=True),
            _idno("female_id_number", "女方公民身份号码", required=True),
            _nationality("female_nationality", "女方国籍"),
            _marital("female_prior_status", "女方登记前婚姻状况"),
            _date("registration_date", "登记日期", required=True),
            _org("registration_authority", "登记机关"),
        ],
        condition="仅限户籍、不动产登记、公积金提取等需核验婚姻状况的政务服务使用，需经本局审批",
    ),
    _res(
        "450200-MZ", "低保救助对象信息", "主题/民政服务", "database", "monthly", "important", "L4",
        "城乡最低生活保障对象家庭的认定、保障人口及保障金额信息。",
        [
            _i("household_no", "低保家庭编号", "C", 20, pk=True),
            _name("head_name", "户主姓名", required=True),
            _idno("head_id_number", "户主公民身份号码", required=True),
            _region(required=True),
            _addr("address", "家庭住址"),
            _i("covered_persons", "保障人口数", "I"),
            _money("monthly_amount", "月保障金额", sens="L4"),
            _i("category", "低保类别", "C", 1),
            _date("approval_date", "认定日期"),
            _i("status", "保障状态", "C", 1, required=True),
        ],
        method="database",
        condition=(
            "仅限医保资助参保、教育资助、住房保障等救助联动审核使用；须经市民政局逐次审批，"
            "仅比对不下载，不得对外公开或用于其他用途，使用记录留存备查"
        ),
    ),
    _res(
        "450200-MZ", "社会组织登记信息", "基础/法人", "database", "monthly", "general", "L1",
        "在柳州市登记的社会团体、民办非企业单位(社会服务机构)和基金会信息。",
        [
            _uscc(pk=True),
            _org("org_name", "社会组织名称", required=True),
            _i("org_type", "社会组织类型", "C", 1),
            _legal(sens="L1"),
            _addr("address", "住所", sens="L1"),
            _i("business_scope", "业务范围", "M"),
            _money("registered_fund", "开办资金(万元)"),
            _date("registration_date", "成立登记日期"),
            _org("supervisory_unit", "业务主管单位"),
            _i("status", "登记状态", "C", 1),
        ],
        share="unconditional", open_=True,
        person="邓春梅", contact="0772-2823612",
    ),
    _res(
        "450200-MZ", "养老机构名录", "主题/民政服务", "database", "quarterly", "general", "L1",
        "全市已备案养老机构的床位数、性质及等级评定信息。",
        [
            _i("filing_no", "养老机构备案编号", "C", 30, pk=True),
            _org("institution_name", "机构名称", required=True),
            _uscc(),
            _i("nature", "机构性质", "C", 1),
            _addr("address", "地址", sens="L1"),
            _region(),
            _i("beds", "床位数", "I"),
            _i("service_phone", "咨询电话", "C", 20),
            _date("filing_date", "备案日期"),
            _i("star_rating", "等级评定", "C", 1),
        ],
        share="unconditional", method="file", open_=True,
        person="邓春梅", contact="0772-2823612",
    ),
    _res(
        "450200-MZ", "残疾人两项补贴发放信息", "主题/民政服务", "database", "monthly", "important", "L4",
        "困难残疾人生活补贴和重度残疾人护理补贴的审核与发放信息。",
        [
            _i("record_no", "补贴记录编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _cert("disability_cert_no", "残疾人证号"),
            _i("subsidy_type", "补贴类型", "C", 1, required=True),
            _money("monthly_amount", "月补贴金额"),
            _i("start_month", "补贴起始年月", "C", 6),
            _region(),
            _i("status", "发放状态", "C", 1),
        ],
        method="database",
        condition="仅限残联、医保部门开展补贴重复享受比对使用，需经市民政局审批",
    ),
    _res(
        "450200-MZ", "殡葬服务信息", "主题/民政服务", "database", "daily", "general", "L3",
        "殡仪馆火化及殡葬服务信息，用于户籍注销、养老保险待遇停发等身后事联办。",
        [
            _cert("cremation_cert_no", "火化证明编号", pk=True),
            _name("deceased_name", "逝者姓名", required=True),
            _idno("deceased_id_number", "逝者公民身份号码", required=True),
            _sex(),
            _date("death_date", "死亡日期"),
            _date("cremation_date", "火化日期", required=True),
            _org("funeral_home", "殡仪馆名称"),
            _name("agent_name", "承办人姓名"),
            _phone("agent_phone", "承办人手机号码"),
        ],
        condition="仅限公安户籍注销、人社养老待遇停发及医保停保等身后一件事联办使用",
    ),
    # ------------------------------------------------------------------ 柳州市自然资源和规划局
    _res(
        "450200-ZR", "不动产登记信息", "基础/自然资源和空间地理", "database", "realtime", "important", "L3",
        "房屋、土地等不动产的权利人、坐落、权利类型及抵押查封状态登记信息。",
        [
            _i("unit_no", "不动产单元号", "C", 28, pk=True),
            _cert("cert_no", "不动产权证书号", required=True),
            _name("right_holder", "权利人名称", required=True),
            _idno("right_holder_id_number", "权利人公民身份号码"),
            _uscc("right_holder_uscc", "权利人统一社会信用代码"),
            _addr("location", "坐落", required=True),
            _i("right_type", "权利类型", "C", 2),
            _i("usage", "用途", "C", 3),
            _i("floor_area", "建筑面积(平方米)", "B"),
            _i("co_ownership", "共有情况", "C", 1),
            _date("registration_date", "登记日期"),
            _i("mortgaged", "是否抵押", "L"),
            _i("seized", "是否查封", "L"),
        ],
        condition="仅限义务教育入学、住房保障、公积金提取等政务服务核验使用，查询须经权利人授权或依法定职责",
    ),
    _res(
        "450200-ZR", "国有建设用地使用权出让信息", "基础/自然资源和空间地理", "database", "monthly",
        "general", "L1",
        "以招标、拍卖、挂牌及协议方式出让国有建设用地使用权的成交结果信息。",
        [
            _i("parcel_no", "宗地编号", "C", 30, pk=True),
            _addr("location", "宗地坐落", sens="L1"),
            _i("land_use", "土地用途", "C", 3),
            _i("area", "出让面积(平方米)", "B"),
            _i("plot_ratio", "容积率", "F"),
            _i("term_years", "出让年限", "I"),
            _i("supply_method", "供应方式", "C", 1),
            _money("price", "成交价款(万元)"),
            _org("transferee", "受让单位"),
            _date("contract_date", "合同签订日期"),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450200-ZR", "建设工程规划许可证信息", "基础/电子证照", "database", "weekly", "general", "L1",
        "核发的建设工程规划许可证信息，按规划公开要求向社会公布。",
        [
            _cert("permit_no", "建设工程规划许可证号", pk=True, sens="L1"),
            _i("project_name", "建设项目名称", "C", 200, required=True),
            _org("developer", "建设单位"),
            _uscc("developer_uscc", "建设单位统一社会信用代码"),
            _addr("location", "建设位置", sens="L1"),
            _i("building_area", "建设规模(平方米)", "B"),
            _date("issue_date", "发证日期"),
            _region(),
        ],
        share="unconditional", open_=True,
        person="龙海峰", contact="0772-2834256",
    ),
    _res(
        "450200-ZR", "地质灾害隐患点信息", "基础/自然资源和空间地理", "database", "half_yearly", "important", "L3",
        "全市滑坡、崩塌、泥石流等地质灾害隐患点位置、威胁对象及群测群防员信息。",
        [
            _i("point_no", "隐患点编号", "C", 20, pk=True),
            _i("point_name", "隐患点名称", "C", 100, required=True),
            _i("hazard_type", "灾害类型", "C", 2),
            _region(),
            _addr("location", "位置"),
            _i("longitude", "经度", "F"),
            _i("latitude", "纬度", "F"),
            _i("threatened_people", "威胁人数", "I"),
            _money("threatened_property", "威胁财产(万元)"),
            _i("risk_level", "险情等级", "C", 1),
            _name("monitor_name", "群测群防员"),
            _phone("monitor_phone", "群测群防员手机号码"),
        ],
        method="file",
        condition="仅限应急管理、防灾减灾及国土空间规划业务使用，不得对外发布坐标信息",
        person="龙海峰", contact="0772-2834256",
    ),
    _res(
        "450200-ZR", "国土变更调查图斑数据", "基础/自然资源和空间地理", "database", "yearly", "important", "L2",
        "年度国土变更调查形成的地类图斑及权属信息。",
        [
            _i("patch_id", "图斑编号", "C", 20, pk=True),
            _i("land_class_code", "地类编码", "C", 5, required=True),
            _i("land_class_name", "地类名称", "C", 50),
            _i("patch_area", "图斑面积(平方米)", "B"),
            _region(),
            _i("ownership_type", "权属性质", "C", 2),
            _org("ownership_unit", "权属单位名称"),
            _i("survey_year", "调查年度", "C", 4),
        ],
        method="file",
        condition="仅限国土空间规划、耕地保护及农业农村业务使用，须签署数据保密协议，不得转提供第三方",
    ),
    _res(
        "450200-ZR", "柳州市标准地图", "基础/自然资源和空间地理", "image", "yearly", "general", "L1",
        "经审核并取得审图号的柳州市行政区划标准地图，可免费下载使用。",
        [
            _i("map_no", "审图号", "C", 30, pk=True),
            _i("map_title", "地图名称", "C", 100, required=True),
            _i("scale", "比例尺", "C", 20),
            _region("coverage_region", "覆盖行政区划代码"),
            _date("edition_date", "版本日期"),
            _i("file_format", "文件格式", "C", 10),
            _i("file_url", "下载地址", "C", 500),
            _i("map_image", "地图图像", "G"),
        ],
        share="unconditional", method="file", open_=True,
        open_condition="使用时须标注审图号，不得擅自修改地图内容",
    ),
    # ------------------------------------------------------------------ 柳州市住房和城乡建设局
    _res(
        "450200-ZJ", "房屋租赁登记备案信息", "主题/住房城乡建设", "database", "daily", "general", "L3",
        "住房租赁合同网签备案信息，可作为居住证申领、随迁子女入学的居住证明。",
        [
            _cert("filing_no", "租赁备案证明编号", pk=True),
            _addr("house_address", "房屋坐落", required=True),
            _name("lessor_name", "出租人姓名", required=True),
            _idno("lessor_id_number", "出租人公民身份号码"),
            _name("lessee_name", "承租人姓名", required=True),
            _idno("lessee_id_number", "承租人公民身份号码", required=True),
            _date("lease_start", "租赁起始日期", required=True),
            _date("lease_end", "租赁终止日期", required=True),
            _money("monthly_rent", "月租金", sens="L3"),
            _i("house_area", "租赁面积(平方米)", "B"),
            _region(),
            _date("filing_date", "备案日期"),
            _i("lease_purpose", "租赁用途", "C", 1),
        ],
        condition="仅限居住证办理、义务教育入学及公积金租房提取核验使用，需经市住建局审批",
    ),
    _res(
        "450200-ZJ", "商品房预售许可信息", "主题/住房城乡建设", "database", "weekly", "general", "L1",
        "商品房预售许可证核发信息及预售资金监管账户，供购房群众查询。",
        [
            _cert("permit_no", "预售许可证号", pk=True, sens="L1"),
            _i("project_name", "项目名称", "C", 200, required=True),
            _org("developer", "开发企业"),
            _uscc("developer_uscc", "开发企业统一社会信用代码"),
            _addr("location", "项目坐落", sens="L1"),
            _i("presale_area", "预售面积(平方米)", "B"),
            _i("presale_units", "预售套数", "I"),
            _date("issue_date", "发证日期"),
            _i("supervision_bank", "资金监管银行", "C", 100),
            _i("supervision_account", "资金监管账号", "C", 30),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-ZJ", "建筑业企业资质信息", "主题/住房城乡建设", "database", "monthly", "general", "L1",
        "柳州市建筑业企业资质证书及资质类别等级信息。",
        [
            _cert("cert_no", "资质证书编号", pk=True, sens="L1"),
            _org("company_name", "企业名称", required=True),
            _uscc(),
            _legal(sens="L1"),
            _i("qualification", "资质类别及等级", "C", 200),
            _date("issue_date", "发证日期"),
            _date("valid_until", "有效期至"),
            _org("issuing_authority", "发证机关"),
            _addr("address", "企业地址", sens="L1"),
        ],
        share="unconditional", method="file", open_=True,
        person="卢建新", contact="0772-2828741",
    ),
    _res(
        "450200-ZJ", "商品房买卖合同网签备案信息", "主题/住房城乡建设", "database", "daily", "important", "L3",
        "新建商品房买卖合同网签备案信息，含购房人、成交价格及付款方式。",
        [
            _i("contract_no", "合同备案号", "C", 30, pk=True),
            _addr("house_address", "房屋坐落", required=True),
            _name("buyer_name", "买受人姓名", required=True),
            _idno("buyer_id_number", "买受人公民身份号码"),
            _org("seller", "出卖人(开发企业)"),
            _uscc("seller_uscc", "出卖人统一社会信用代码"),
            _money("total_price", "合同总价", sens="L3"),
            _i("area", "建筑面积(平方米)", "B"),
            _date("sign_date", "签约日期"),
            _date("filing_date", "备案日期"),
            _i("payment_method", "付款方式", "C", 1),
        ],
        method="database",
        condition="仅限不动产登记、税务契税征收及公积金贷款审核使用，需经市住建局审批",
    ),
    _res(
        "450200-ZJ", "公共租赁住房保障信息", "主题/住房城乡建设", "database", "monthly", "important", "L4",
        "公共租赁住房及住房租赁补贴保障对象的资格审核与配租信息。",
        [
            _i("record_no", "保障记录编号", "C", 30, pk=True),
            _name("applicant_name", "申请人姓名", required=True),
            _idno("applicant_id_number", "申请人公民身份号码", required=True),
            _i("household_size", "家庭人口数", "I"),
            _region("household_region", "户籍地行政区划代码"),
            _addr("housing_address", "配租房源地址"),
            _money("rent_subsidy", "租赁补贴金额"),
            _date("allocation_date", "配租日期"),
            _i("qualification_status", "资格状态", "C", 1),
            _money("income_per_capita", "家庭人均月收入", sens="L4"),
        ],
        condition="仅限民政部门家庭经济状况核对及保障对象动态复核使用，需经市住建局审批",
        person="卢建新", contact="0772-2828741",
    ),
    # ------------------------------------------------------------------ 柳州住房公积金管理中心
    _res(
        "450200-GJJ", "住房公积金缴存信息", "主题/住房城乡建设", "database", "daily", "important", "L3",
        "职工住房公积金个人账户的缴存基数、缴存比例和缴存状态信息。",
        [
            _i("account_no", "个人公积金账号", "C", 20, pk=True),
            _idno(required=True),
            _name(required=True),
            _org("employer_name", "缴存单位名称"),
            _uscc("employer_uscc", "缴存单位统一社会信用代码"),
            _money("deposit_base", "缴存基数"),
            _i("personal_rate", "个人缴存比例", "F"),
            _i("employer_rate", "单位缴存比例", "F"),
            _money("monthly_deposit", "月缴存额"),
            _i("account_status", "账户状态", "C", 1, required=True),
            _date("open_date", "开户日期"),
            _i("last_paid_month", "缴至年月", "C", 6),
            _money("balance", "账户余额", sens="L4"),
        ],
        condition="仅限人才引进、住房保障及义务教育入学核验缴存状态使用，账户余额需本人授权，需经中心审批",
    ),
    _res(
        "450200-GJJ", "住房公积金贷款信息", "主题/财税金融", "database", "daily", "important", "L3",
        "住房公积金个人住房贷款的发放、还款及逾期状态信息。",
        [
            _i("loan_contract_no", "借款合同编号", "C", 30, pk=True),
            _name("borrower_name", "借款人姓名", required=True),
            _idno("borrower_id_number", "借款人公民身份号码", required=True),
            _money("loan_amount", "贷款金额"),
            _i("term_months", "贷款期限(月)", "I"),
            _i("interest_rate", "贷款利率", "F"),
            _date("issue_date", "放款日期"),
            _addr("house_address", "所购房屋坐落"),
            _money("outstanding_balance", "贷款余额", sens="L4"),
            _i("overdue", "是否逾期", "L"),
        ],
        method="database",
        condition="仅限不动产抵押登记及住房保障资格审核使用，需经中心审批",
    ),
    _res(
        "450200-GJJ", "住房公积金缴存单位登记信息", "主题/住房城乡建设", "database", "daily", "general", "L2",
        "在中心开立住房公积金单位账户的缴存单位信息，企业开办时同步登记。",
        [
            _i("unit_account_no", "单位公积金账号", "C", 20, pk=True),
            _org("unit_name", "单位名称", required=True),
            _uscc(required=True),
            _legal(),
            _addr("unit_address", "单位地址"),
            _name("contact_name", "经办人姓名"),
            _phone("contact_phone", "经办人手机号码"),
            _date("open_date", "开户日期"),
            _i("depositor_count", "缴存人数", "I"),
            _i("status", "单位账户状态", "C", 1),
        ],
        share="unconditional",
    ),
    _res(
        "450200-GJJ", "住房公积金提取信息", "主题/住房城乡建设", "database", "monthly", "general", "L3",
        "职工因购房、租房、退休等原因提取住房公积金的记录。",
        [
            _i("record_no", "提取记录编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("account_no", "个人公积金账号", "C", 20),
            _i("withdrawal_reason", "提取原因", "C", 2, required=True),
            _money("amount", "提取金额"),
            _date("withdrawal_date", "提取日期", required=True),
            _i("bank_name", "收款银行", "C", 100),
        ],
        method="database",
        condition="仅限民政部门家庭经济状况核对使用，需经中心审批",
        person="韦丽华", contact="0772-2861385",
    ),
    _res(
        "450200-GJJ", "住房公积金年度报告", "主题/财税金融", "electronic_file", "yearly", "general", "L1",
        "依照《住房公积金管理条例》编制并公布的柳州市住房公积金年度报告。",
        [
            _i("report_year", "报告年度", "C", 4, pk=True),
            _i("title", "报告标题", "C", 200, required=True),
            _date("publish_date", "发布日期"),
            _money("total_deposit", "当年缴存额(亿元)"),
            _i("new_units", "新开户单位数", "I"),
            _money("total_withdrawal", "当年提取额(亿元)"),
            _i("loans_issued", "发放个人住房贷款笔数", "I"),
            _i("file_url", "报告下载地址", "C", 500),
        ],
        share="unconditional", method="file", open_=True,
        person="韦丽华", contact="0772-2861385",
    ),
    # ------------------------------------------------------------------ 柳州市大数据发展局
    _res(
        "450200-DSJ", "公共数据目录", "部门/450200-DSJ", "self_describing", "daily", "general", "L1",
        "全市政务信息资源目录的公开部分，含资源名称、提供方、共享开放属性和更新周期。",
        [
            _i("resource_code", "信息资源代码", "C", 50, pk=True),
            _i("resource_name", "信息资源名称", "C", 200, required=True),
            _org("provider_name", "信息资源提供方", required=True),
            _i("provider_code", "提供方代码", "C", 20),
            _i("classification", "信息资源分类", "C", 50),
            _i("share_type", "共享类型", "C", 1),
            _i("open_flag", "是否向社会开放", "L"),
            _i("update_cycle", "更新周期", "C", 2),
            _date("publish_date", "发布日期"),
            _i("summary", "信息资源摘要", "M"),
        ],
        share="unconditional", open_=True,
    ),
    _res(
        "450200-DSJ", "电子证照目录信息", "基础/电子证照", "database", "weekly", "general", "L1",
        "全市已归集电子证照的类型目录、签发部门、证照标准及归集数量。",
        [
            _i("license_type_code", "证照类型代码", "C", 20, pk=True),
            _i("license_type_name", "证照类型名称", "C", 100, required=True),
            _org("issuing_department", "签发部门"),
            _i("holder_type", "持证主体类型", "C", 1),
            _i("standard_code", "证照标准编号", "C", 50),
            _i("issued_count", "已归集数量", "I"),
            _i("linked_matters", "关联政务服务事项数", "I"),
            _date("update_date", "更新日期"),
        ],
        share="unconditional", method="database",
    ),
    _res(
        "450200-DSJ", "政务信息系统清单", "部门/450200-DSJ", "spreadsheet", "quarterly", "general", "L2",
        "全市各部门政务信息系统的部署位置、网络类型、上云迁移进度及运维经费。",
        [
            _i("system_code", "系统编号", "C", 20, pk=True),
            _i("system_name", "系统名称", "C", 200, required=True),
            _org("owner_department", "建设单位", required=True),
            _i("deploy_location", "部署位置", "C", 1),
            _i("network_type", "网络类型", "C", 1),
            _date("go_live_date", "上线日期"),
            _i("migration_status", "迁移状态", "C", 1),
            _money("annual_om_budget", "年度运维经费(万元)"),
        ],
        share="unconditional", method="file",
        person="覃振宇", contact="0772-2800736",
    ),
    _res(
        "450200-DSJ", "人口综合信息核验服务", "基础/人口", "service", "realtime", "important", "L3",
        "基于人口基础信息库提供的身份及户籍一致性核验接口，只返回比对结果，不返回原始数据。",
        [
            _i("request_id", "核验请求编号", "C", 32, pk=True),
            _idno(required=True),
            _name(required=True),
            _i("result", "核验结果", "C", 1, required=True),
            _i("household_consistent", "户籍信息是否一致", "L"),
            _i("alive", "是否健在", "L"),
            _i("checked_at", "核验时间", "T", required=True),
        ],
        condition="仅限政务服务身份核验场景调用，需经市大数据发展局审批接入并登记调用系统",
    ),
    _res(
        "450200-DSJ", "法人综合信息查询服务", "基础/法人", "service", "realtime", "general", "L2",
        "汇聚市场监管、税务、人社、公积金等部门法人信息的综合查询接口。",
        [
            _uscc(pk=True),
            _org("org_name", "单位名称", required=True),
            _legal(),
            _i("registration_status", "登记状态", "C", 2),
            _i("tax_status", "税务状态", "C", 2),
            _i("social_insurance_registered", "是否已办理社保登记", "L"),
            _i("housing_fund_registered", "是否已开立公积金账户", "L"),
            _i("abnormal_listed", "是否列入经营异常名录", "L"),
            _i("queried_at", "查询时间", "T"),
        ],
        share="unconditional",
    ),
    _res(
        "450200-DSJ", "政务数据共享交换统计信息", "部门/450200-DSJ", "spreadsheet", "monthly", "general", "L1",
        "按月统计各部门共享申请、审批及接口调用情况，用于共享绩效评价。",
        [
            _i("stat_month", "统计月份", "C", 6, pk=True),
            _i("department_code", "部门代码", "C", 20, pk=True),
            _org("department_name", "部门名称"),
            _i("request_count", "共享申请数", "I"),
            _i("approved_count", "审批通过数", "I"),
            _i("api_calls", "接口调用次数", "I"),
            _i("avg_response_hours", "平均响应时长(小时)", "F"),
        ],
        share="unconditional", method="file", open_=True,
        person="覃振宇", contact="0772-2800736",
    ),
    # ------------------------------------------------------------------ 县区部门
    _res(
        "450202-JY", "城中区义务教育学校招生片区信息", "主题/教育文化", "spreadsheet", "yearly", "general", "L1",
        "城中区公办小学、初中年度招生划片范围及招生计划。",
        [
            _i("zone_id", "片区编号", "C", 20, pk=True),
            _org("school_name", "学校名称", required=True),
            _i("school_code", "学校标识码", "C", 10),
            _i("stage", "学段", "C", 1),
            _i("zone_scope", "划片范围", "M", required=True),
            _i("enrolment_plan", "招生计划数", "I"),
            _i("year", "招生年度", "C", 4),
            _region(),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450202-JY", "城中区幼儿园入园报名信息", "主题/教育文化", "database", "daily", "important", "L4",
        "城中区公办及普惠性民办幼儿园网上入园报名信息。",
        [
            _i("application_no", "报名编号", "C", 30, pk=True),
            _idno("child_id_number", "幼儿公民身份号码", required=True),
            _name("child_name", "幼儿姓名", required=True),
            _birth("child_birth_date", "幼儿出生日期"),
            _name("guardian_name", "监护人姓名"),
            _phone("guardian_phone", "监护人手机号码"),
            _org("kindergarten", "报名幼儿园"),
            _addr("residence_address", "居住地址"),
            _date("application_date", "报名日期"),
        ],
        condition="仅限卫健部门入园预防接种查验及公安户籍核验使用，需经城中区教育局审批",
    ),
    _res(
        "450206-WJ", "柳江区家庭医生签约服务信息", "主题/医疗健康", "database", "monthly", "important", "L4",
        "柳江区居民与基层医疗卫生机构家庭医生团队的签约服务信息。",
        [
            _i("contract_no", "签约协议编号", "C", 30, pk=True),
            _idno("resident_id_number", "居民公民身份号码", required=True),
            _name("resident_name", "居民姓名", required=True),
            _phone(),
            _i("team_name", "签约团队", "C", 100),
            _org("institution_name", "签约机构"),
            _i("service_package", "服务包", "C", 50),
            _date("sign_date", "签约日期"),
            _date("valid_until", "有效期至"),
            _i("key_population", "重点人群类别", "C", 2, sens="L4"),
        ],
        method="database",
        condition="仅限医保部门家庭医生签约服务费结算核对使用，需经柳江区卫生健康局审批",
    ),
    _res(
        "450206-WJ", "柳江区村卫生室名录", "主题/医疗健康", "spreadsheet", "quarterly", "general", "L1",
        "柳江区各行政村卫生室的位置、乡村医生人数及联系电话。",
        [
            _i("clinic_code", "村卫生室编码", "C", 20, pk=True),
            _org("clinic_name", "村卫生室名称", required=True),
            _i("village", "所在行政村", "C", 100),
            _i("township", "所在乡镇", "C", 100),
            _region(),
            _addr("address", "地址", sens="L1"),
            _i("doctor_count", "乡村医生人数", "I"),
            _i("service_phone", "联系电话", "C", 20),
        ],
        share="unconditional", method="file", open_=True,
    ),
    _res(
        "450225-RS", "融水苗族自治县农村劳动力转移就业信息", "主题/社会保障", "database", "monthly", "important",
        "L3",
        "融水县农村劳动力外出务工地点、就业单位及收入区间信息，支撑稳岗就业帮扶。",
        [
            _i("record_no", "登记编号", "C", 30, pk=True),
            _idno(required=True),
            _name(required=True),
            _sex(),
            _i("township", "所在乡镇", "C", 100),
            _i("work_place", "务工地点", "C", 200),
            _org("employer_name", "就业单位"),
            _i("industry_code", "就业行业", "C", 4),
            _i("income_band", "月收入区间", "C", 1),
            _i("monitored", "是否脱贫人口或监测对象", "L", sens="L4"),
            _date("registration_date", "登记日期"),
        ],
        condition="仅限乡村振兴、人社部门发放就业交通补贴及稳岗帮扶使用，需经融水县人社局审批",
    ),
    _res(
        "450203-SP", "鱼峰区政务服务事项办件信息", "部门/450203-SP", "database", "daily", "general", "L2",
        "鱼峰区行政审批局受理政务服务事项的办件过程与结果信息，用于网上可办率和全程网办率统计。",
        [
            _i("case_no", "办件编号", "C", 30, pk=True),
            _i("matter_code", "事项编码", "C", 30, required=True),
            _i("matter_name", "事项名称", "C", 200),
            _name("applicant_name", "申请人名称"),
            _date("accept_date", "受理日期", required=True),
            _date("complete_date", "办结日期"),
            _i("channel", "办理渠道", "C", 1),
            _i("fully_online", "是否全程网办", "L"),
            _i("status", "办件状态", "C", 2),
        ],
        condition="仅限市大数据发展局开展政务服务效能统计与督查使用",
    ),
]


# ---------------------------------------------------------------------------- self-check
_CLASSIFICATIONS = {
    "基础/人口", "基础/法人", "基础/自然资源和空间地理", "基础/社会信用", "基础/电子证照",
    "主题/医疗健康", "主题/教育文化", "主题/社会保障", "主题/市场监管", "主题/住房城乡建设",
    "主题/民政服务", "主题/财税金融", "主题/交通出行", "主题/公共安全",
}
_FORMATS = {"electronic_file", "spreadsheet", "database", "image", "streaming", "self_describing", "service"}
_SHARE_TYPES = {"unconditional", "conditional", "none"}
_SHARE_METHODS = {"database", "file", "api"}
_CYCLES = {"realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly"}
_GRADES = {"general", "important", "core"}
_LEVELS = {"L1", "L2", "L3", "L4"}
_DATA_TYPES = set("CNYDTLMGBIF")
# data element → (data type, length, default sensitivity), as shipped in govdata/standards/data/elements.json
_ELEMENTS = {
    "DE0001": ("C", 50, "L3"), "DE0002": ("C", 18, "L3"), "DE0003": ("C", 1, "L2"), "DE0004": ("D", None, "L2"),
    "DE0005": ("C", 6, "L1"), "DE0006": ("C", 18, "L1"), "DE0007": ("C", 11, "L3"), "DE0008": ("C", 200, "L3"),
    "DE0009": ("C", 2, "L2"), "DE0010": ("C", 3, "L1"), "DE0011": ("C", 2, "L2"), "DE0012": ("C", 2, "L2"),
    "DE0013": ("C", 200, "L1"), "DE0014": ("C", 50, "L3"), "DE0015": ("D", None, "L1"), "DE0016": ("Y", None, "L1"),
    "DE0017": ("C", 100, "L2"), "DE0018": ("C", 6, "L1"), "DE0019": ("C", 64, "L2"), "DE0020": ("C", 2, "L2"),
}
_MAIN_12 = ["450200-GA", "450200-WJ", "450200-JY", "450200-RS", "450200-YB", "450200-SJ", "450200-SW",
            "450200-MZ", "450200-ZR", "450200-ZJ", "450200-GJJ", "450200-DSJ"]
_REQUIRED = [
    ("450200-WJ", "出生医学证明信息"), ("450200-WJ", "预防接种信息"), ("450200-GA", "户籍人口登记信息"),
    ("450200-GA", "出生登记信息"), ("450200-GA", "居住证信息"), ("450200-RS", "社会保险参保信息"),
    ("450200-RS", "社会保障卡信息"), ("450200-YB", "城乡居民医保参保信息"), ("450200-SJ", "营业执照信息"),
    ("450200-SJ", "企业登记公示信息"), ("450200-JY", "学籍信息"), ("450200-JY", "学校名录"),
    ("450200-ZR", "不动产登记信息"), ("450200-ZJ", "房屋租赁登记备案信息"), ("450200-GJJ", "住房公积金缴存信息"),
    ("450200-SW", "纳税人登记信息"), ("450200-SW", "发票领用信息"), ("450200-MZ", "婚姻登记信息"),
    ("450200-MZ", "低保救助对象信息"), ("450200-GA", "公章刻制备案信息"), ("450200-WJ", "死亡医学证明信息"),
    ("450200-WJ", "医疗机构名录"), ("450200-SJ", "药品零售企业名录"), ("450200-DSJ", "公共数据目录"),
]
_MUST_OPEN = [("450200-SJ", "企业登记公示信息"), ("450200-JY", "学校名录"), ("450200-WJ", "医疗机构名录"),
              ("450200-SJ", "药品零售企业名录")]
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONTACT_RE = re.compile(r"^0772-28\d{5}$")
_RESOURCE_KEYS = ["name", "provider", "summary", "classification", "format", "share_type", "share_condition",
                  "share_method", "share_basis", "open", "open_condition", "update_cycle", "grade", "sensitivity",
                  "responsible_person", "contact", "items"]
_ITEM_KEYS = ["key", "name", "data_type", "length", "required", "primary_key", "data_element", "sensitivity"]


def _known_org_codes() -> set[str]:
    codes = {code for code, _name, _kind in data.CITY_DEPARTMENTS}
    codes |= {f"{region}-{abbr}" for region in data.COUNTIES for abbr, _suffix in data.COUNTY_DEPARTMENTS}
    return codes


def _check_item(where: str, item: dict) -> None:
    assert list(item) == _ITEM_KEYS, f"{where}: item fields {list(item)}"
    assert _KEY_RE.match(item["key"]), f"{where}: bad key"
    assert item["name"], f"{where}: empty name"
    assert item["data_type"] in _DATA_TYPES, f"{where}: data_type {item['data_type']}"
    assert item["length"] is None or (isinstance(item["length"], int) and item["length"] > 0), f"{where}: length"
    assert isinstance(item["required"], bool) and isinstance(item["primary_key"], bool), f"{where}: flags"
    assert not item["primary_key"] or item["required"], f"{where}: primary key must be required"
    assert item["sensitivity"] is None or item["sensitivity"] in _LEVELS, f"{where}: sensitivity"
    element = item["data_element"]
    if element is not None:
        assert element in _ELEMENTS, f"{where}: unknown element {element}"
        data_type, length, _default = _ELEMENTS[element]
        assert item["data_type"] == data_type, f"{where}: type incompatible with {element}"
        assert item["length"] == length, f"{where}: length incompatible with {element}"


def _effective_sensitivity(item: dict) -> str:
    if item["sensitivity"]:
        return item["sensitivity"]
    return _ELEMENTS[item["data_element"]][2] if item["data_element"] else "L1"


def _check_resource(res: dict, orgs: set[str]) -> None:
    where = f"{res['provider']}/{res['name']}"
    assert list(res) == _RESOURCE_KEYS, f"{where}: fields {list(res)}"
    assert res["provider"] in orgs, f"{where}: unknown provider"
    assert res["name"] and res["summary"], f"{where}: name/summary"
    cls = res["classification"]
    assert cls in _CLASSIFICATIONS or cls == f"部门/{res['provider']}", f"{where}: classification {cls}"
    assert res["format"] in _FORMATS, f"{where}: format"
    assert res["share_type"] in _SHARE_TYPES, f"{where}: share_type"
    assert res["share_method"] in _SHARE_METHODS, f"{where}: share_method"
    assert res["update_cycle"] in _CYCLES, f"{where}: update_cycle"
    assert res["grade"] in _GRADES, f"{where}: grade"
    assert res["sensitivity"] in _LEVELS, f"{where}: sensitivity"
    assert isinstance(res["open"], bool), f"{where}: open"
    assert res["responsible_person"], f"{where}: responsible_person"
    assert _CONTACT_RE.match(res["contact"]), f"{where}: contact {res['contact']}"
    if res["share_type"] == "conditional":
        assert res["share_condition"].strip(), f"{where}: conditional without condition"
    else:
        assert res["share_condition"] == "", f"{where}: condition on non-conditional resource"
    if res["share_type"] == "none":
        assert res["share_basis"].strip(), f"{where}: none without basis"
        assert not res["open"], f"{where}: not-shared resource cannot be open"
    else:
        assert res["share_basis"] == "", f"{where}: basis on shared resource"
    if res["open"]:
        assert res["share_type"] == "unconditional", f"{where}: open resource must be shared unconditionally"
        assert res["sensitivity"] == "L1", f"{where}: open resource must be L1"
        assert all(i["data_element"] != "DE0002" for i in res["items"]), f"{where}: open resource with ID numbers"
        assert all(_effective_sensitivity(i) == "L1" for i in res["items"]), f"{where}: open resource item above L1"
    else:
        assert res["open_condition"] == "", f"{where}: open_condition on closed resource"
    if res["format"] == "service":
        assert res["share_method"] == "api", f"{where}: service must be shared by api"
    items = res["items"]
    assert 5 <= len(items) <= 15, f"{where}: {len(items)} items"
    keys = [i["key"] for i in items]
    assert len(keys) == len(set(keys)), f"{where}: duplicate item keys"
    assert any(i["primary_key"] for i in items), f"{where}: no primary key"
    for item in items:
        _check_item(f"{where}.{item['key']}", item)


def _check() -> None:
    orgs = _known_org_codes()
    assert len(RESOURCES) >= 66, len(RESOURCES)
    for res in RESOURCES:
        _check_resource(res, orgs)
    pairs = [(r["provider"], r["name"]) for r in RESOURCES]
    assert len(pairs) == len(set(pairs)), [p for p, n in Counter(pairs).items() if n > 1]
    per_provider = Counter(r["provider"] for r in RESOURCES)
    assert sum(1 for code in _MAIN_12 if per_provider[code] >= 3) == 12, per_provider
    assert len(set(per_provider) & set(_MAIN_12)) >= 12
    for pair in _REQUIRED:
        assert pair in pairs, f"missing required resource {pair}"
    by_pair = {(r["provider"], r["name"]): r for r in RESOURCES}
    for pair in _MUST_OPEN:
        assert by_pair[pair]["open"], f"{pair} must be open"
    none = [r for r in RESOURCES if r["share_type"] == "none"]
    assert len(none) >= 4, len(none)
    opened = [r for r in RESOURCES if r["open"]]
    assert len(opened) >= 10 and len({r["provider"] for r in opened}) >= 6, len(opened)
    for field in ("update_cycle", "format", "share_method"):
        assert len({r[field] for r in RESOURCES}) >= 3, field
    conditional = sum(1 for r in RESOURCES if r["share_type"] == "conditional")
    print(f"OK: {len(RESOURCES)} resources, {len(per_provider)} providers, open {len(opened)}, "
          f"none {len(none)}, conditional {conditional}")
    for code, count in sorted(per_provider.items()):
        print(f"  {code}: {count}")
