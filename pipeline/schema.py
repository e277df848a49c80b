"""The canonical record schema, declared once.

Every stage refers to columns by these constants. A source file's headers are mapped onto the
canonical *fields* (``rules/sources.yaml``); each field has a *kind* that says how it is normalized
and which output columns it produces. ``RECORD_SCHEMA`` is the Arrow schema of
``reports/<run_date>/data/records.parquet``.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class Kind(StrEnum):
    """How a canonical field is normalized."""

    TEXT = "text"  # NFKC, trimmed
    CODE = "code"  # NFKC, all whitespace removed (household numbers, settlement numbers)
    NAME = "name"  # person name: simplified, pinyin, original kept
    ID = "id"  # resident ID number: 18 digits, status flag
    SEX = "sex"
    PHONE = "phone"
    DATE = "date"
    MONTH = "month"  # a year and month, stored as the first day of the month
    MONEY = "money"
    INT = "int"
    YESNO = "yesno"
    ENUM = "enum"  # value mapped through rules/sources.yaml `enums`
    COUNTY = "county"  # resolved to a 6-digit county code
    TOWNSHIP = "township"  # resolved to a 9-digit township code
    CERT = "cert"  # 20-character disability certificate number


# --- provenance -------------------------------------------------------------------------------
SOURCE = "source"
FILE = "file"
ROW = "row"  # spreadsheet row number: header row = 1 in a standard file

# --- canonical fields (what headers map to) ------------------------------------------------
COUNTY = "county"
TOWNSHIP = "township"
VILLAGE = "village"
ADDRESS = "address"
HOUSEHOLD_NO = "household_no"
NAME = "name"
ID_NUMBER = "id_number"
RELATION = "relation"
SEX = "sex"
PHONE = "phone"
MONITOR_CATEGORY = "monitor_category"
RISK_TYPE = "risk_type"
RISK_ELIMINATED = "risk_eliminated"
HOUSEHOLD_SIZE = "household_size"
INCOME_PER_CAPITA = "income_per_capita"
DISABILITY_CERT = "disability_cert"
DISABILITY_CATEGORY = "disability_category"
DISABILITY_GRADE = "disability_grade"
ISSUE_DATE = "issue_date"
HEAD_NAME = "head_name"
HEAD_ID = "head_id"
ASSISTANCE_CATEGORY = "assistance_category"
ASSISTANCE_STATUS = "assistance_status"
ENROLLED_DATE = "enrolled_date"
MONTHLY_AMOUNT = "monthly_amount"
SUBSIDY_CATEGORY = "subsidy_category"
PAY_MONTH = "pay_month"
AMOUNT = "amount"
SETTLEMENT_NO = "settlement_no"
AGE = "age"
HOSPITAL = "hospital"
ADMIT_DATE = "admit_date"
DISCHARGE_DATE = "discharge_date"
DIAGNOSIS = "diagnosis"
TOTAL_COST = "total_cost"
FUND_PAID = "fund_paid"
CRITICAL_ILLNESS_PAID = "critical_illness_paid"
MEDICAL_AID_PAID = "medical_aid_paid"
OUT_OF_POCKET = "out_of_pocket"
DEATH_DATE = "death_date"
CREMATION_DATE = "cremation_date"
FUNERAL_HOME = "funeral_home"
SCHOOL = "school"
SCHOOL_STAGE = "school_stage"
GRADE = "grade"
GUARDIAN_NAME = "guardian_name"
GUARDIAN_ID = "guardian_id"
# Hotline requests (12345 and the assistance hotline) and village assistants' reports.
TICKET_NO = "ticket_no"
REQUEST_DATE = "request_date"
REQUEST_TEXT = "request_text"  # the caller's words: read by pipeline/eligibility/requests.py
REQUEST_CATEGORY = "request_category"
HANDLING_STATUS = "handling_status"
REPORT_DATE = "report_date"
HARDSHIP_TEXT = "hardship_text"  # the assistant's account of the hardship: read the same way
REPORTER = "reporter"
REPORTER_PHONE = "reporter_phone"  # the assistant's number, not the person's: never matched on
# The economic checks: vehicles and real estate registered to a person.
PLATE_NO = "plate_no"
VEHICLE_TYPE = "vehicle_type"
VEHICLE_USE = "vehicle_use"
VEHICLE_STATUS = "vehicle_status"
FIRST_REGISTERED = "first_registered"
PROPERTY_LOCATION = "property_location"  # where the property is, not where the owner lives
FLOOR_AREA = "floor_area"
PROPERTY_USE = "property_use"
PROPERTY_REGISTERED = "property_registered"

FIELD_KINDS: dict[str, Kind] = {
    COUNTY: Kind.COUNTY,
    TOWNSHIP: Kind.TOWNSHIP,
    VILLAGE: Kind.TEXT,
    ADDRESS: Kind.TEXT,
    HOUSEHOLD_NO: Kind.CODE,
    NAME: Kind.NAME,
    ID_NUMBER: Kind.ID,
    RELATION: Kind.TEXT,
    SEX: Kind.SEX,
    PHONE: Kind.PHONE,
    MONITOR_CATEGORY: Kind.TEXT,
    RISK_TYPE: Kind.TEXT,
    RISK_ELIMINATED: Kind.YESNO,
    HOUSEHOLD_SIZE: Kind.INT,
    INCOME_PER_CAPITA: Kind.MONEY,
    DISABILITY_CERT: Kind.CERT,
    DISABILITY_CATEGORY: Kind.ENUM,
    DISABILITY_GRADE: Kind.ENUM,
    ISSUE_DATE: Kind.DATE,
    HEAD_NAME: Kind.NAME,
    HEAD_ID: Kind.ID,
    ASSISTANCE_CATEGORY: Kind.ENUM,
    ASSISTANCE_STATUS: Kind.ENUM,
    ENROLLED_DATE: Kind.DATE,
    MONTHLY_AMOUNT: Kind.MONEY,
    SUBSIDY_CATEGORY: Kind.ENUM,
    PAY_MONTH: Kind.MONTH,
    AMOUNT: Kind.MONEY,
    SETTLEMENT_NO: Kind.CODE,
    AGE: Kind.INT,
    HOSPITAL: Kind.TEXT,
    ADMIT_DATE: Kind.DATE,
    DISCHARGE_DATE: Kind.DATE,
    DIAGNOSIS: Kind.TEXT,
    TOTAL_COST: Kind.MONEY,
    FUND_PAID: Kind.MONEY,
    CRITICAL_ILLNESS_PAID: Kind.MONEY,
    MEDICAL_AID_PAID: Kind.MONEY,
    OUT_OF_POCKET: Kind.MONEY,
    DEATH_DATE: Kind.DATE,
    CREMATION_DATE: Kind.DATE,
    FUNERAL_HOME: Kind.TEXT,
    SCHOOL: Kind.TEXT,
    SCHOOL_STAGE: Kind.TEXT,
    GRADE: Kind.TEXT,
    GUARDIAN_NAME: Kind.NAME,
    GUARDIAN_ID: Kind.ID,
    TICKET_NO: Kind.CODE,
    REQUEST_DATE: Kind.DATE,
    REQUEST_TEXT: Kind.TEXT,
    REQUEST_CATEGORY: Kind.TEXT,
    HANDLING_STATUS: Kind.TEXT,
    REPORT_DATE: Kind.DATE,
    HARDSHIP_TEXT: Kind.TEXT,
    REPORTER: Kind.TEXT,
    REPORTER_PHONE: Kind.PHONE,
    PLATE_NO: Kind.CODE,
    VEHICLE_TYPE: Kind.TEXT,
    VEHICLE_USE: Kind.TEXT,
    VEHICLE_STATUS: Kind.TEXT,
    FIRST_REGISTERED: Kind.DATE,
    PROPERTY_LOCATION: Kind.TEXT,
    FLOOR_AREA: Kind.MONEY,
    PROPERTY_USE: Kind.TEXT,
    PROPERTY_REGISTERED: Kind.DATE,
}

# --- derived columns ----------------------------------------------------------------------
# A NAME field `f` also yields `f_raw` (as written) and `f_pinyin`; an ID field yields `f_raw`
# and `f_status`. Only the record's own ID (`id_number`) yields birth date and sex.
NAME_RAW = "name_raw"
NAME_PINYIN = "name_pinyin"
HEAD_NAME_RAW = "head_name_raw"
HEAD_NAME_PINYIN = "head_name_pinyin"
ID_RAW = "id_number_raw"
ID_STATUS = "id_number_status"
HEAD_ID_RAW = "head_id_raw"
HEAD_ID_STATUS = "head_id_status"
GUARDIAN_NAME_RAW = "guardian_name_raw"
GUARDIAN_NAME_PINYIN = "guardian_name_pinyin"
GUARDIAN_ID_RAW = "guardian_id_raw"
GUARDIAN_ID_STATUS = "guardian_id_status"
BIRTH_DATE = "birth_date"  # from a valid ID
ID_SEX = "id_sex"  # from a valid ID
COUNTY_CODE = "county_code"
COUNTY_RAW = "county_raw"
TOWNSHIP_CODE = "township_code"
TOWNSHIP_RAW = "township_raw"
CERT_ID = "cert_id"  # the holder's ID inside the certificate number
CERT_CATEGORY = "cert_category"
CERT_GRADE = "cert_grade"
CERT_CONFLICT = "cert_conflict"  # certificate disagrees with the ID/category/grade columns
PARSE_ERRORS = "parse_errors"  # values present in the file that could not be read (hard)
FLAGS = "flags"  # soft problems kept with the row (e.g. ID check character fails)


def raw_col(field: str) -> str:
    return f"{field}_raw"


def pinyin_col(field: str) -> str:
    return f"{field}_pinyin"


def status_col(field: str) -> str:
    return f"{field}_status"


class IdStatus(StrEnum):
    """What became of an ID cell. Only VALID and UPGRADED IDs are trusted as identifiers."""

    VALID = "valid"
    UPGRADED = "upgraded"  # a valid 15-digit legacy ID converted to 18 digits
    INVALID = "invalid"  # 18 characters, but the check character or the birth date fails: a typo
    MANGLED = "mangled"  # passed through a spreadsheet float (4.10822E+17, lost digits): unusable
    MALFORMED = "malformed"  # wrong length or characters
    MISSING = "missing"


USABLE_ID = frozenset({IdStatus.VALID, IdStatus.UPGRADED})

_S = pa.string()
_D = pa.date32()
_F = pa.float64()
_I = pa.int32()

#: Arrow schema of records.parquet. Order: provenance, person, place, then source-specific fields.
RECORD_SCHEMA = pa.schema(
    [
        (SOURCE, _S),
        (FILE, _S),
        (ROW, pa.int64()),
        (NAME, _S),
        (NAME_RAW, _S),
        (NAME_PINYIN, _S),
        (ID_NUMBER, _S),
        (ID_RAW, _S),
        (ID_STATUS, _S),
        (BIRTH_DATE, _D),
        (ID_SEX, _S),
        (SEX, _S),
        (PHONE, _S),
        (COUNTY_CODE, _S),
        (COUNTY_RAW, _S),
        (TOWNSHIP_CODE, _S),
        (TOWNSHIP_RAW, _S),
        (VILLAGE, _S),
        (ADDRESS, _S),
        (HOUSEHOLD_NO, _S),
        (RELATION, _S),
        (MONITOR_CATEGORY, _S),
        (RISK_TYPE, _S),
        (RISK_ELIMINATED, pa.bool_()),
        (HOUSEHOLD_SIZE, _I),
        (INCOME_PER_CAPITA, _F),
        (DISABILITY_CERT, _S),
        (CERT_ID, _S),
        (CERT_CATEGORY, _S),
        (CERT_GRADE, _S),
        (CERT_CONFLICT, _S),
        (DISABILITY_CATEGORY, _S),
        (DISABILITY_GRADE, _S),
        (ISSUE_DATE, _D),
        (HEAD_NAME, _S),
        (HEAD_NAME_RAW, _S),
        (HEAD_NAME_PINYIN, _S),
        (HEAD_ID, _S),
        (HEAD_ID_RAW, _S),
        (HEAD_ID_STATUS, _S),
        (ASSISTANCE_CATEGORY, _S),
        (ASSISTANCE_STATUS, _S),
        (ENROLLED_DATE, _D),
        (MONTHLY_AMOUNT, _F),
        (SUBSIDY_CATEGORY, _S),
        (PAY_MONTH, _D),
        (AMOUNT, _F),
        (SETTLEMENT_NO, _S),
        (AGE, _I),
        (HOSPITAL, _S),
        (ADMIT_DATE, _D),
        (DISCHARGE_DATE, _D),
        (DIAGNOSIS, _S),
        (TOTAL_COST, _F),
        (FUND_PAID, _F),
        (CRITICAL_ILLNESS_PAID, _F),
        (MEDICAL_AID_PAID, _F),
        (OUT_OF_POCKET, _F),
        (DEATH_DATE, _D),
        (CREMATION_DATE, _D),
        (FUNERAL_HOME, _S),
        (SCHOOL, _S),
        (SCHOOL_STAGE, _S),
        (GRADE, _S),
        (GUARDIAN_NAME, _S),
        (GUARDIAN_NAME_RAW, _S),
        (GUARDIAN_NAME_PINYIN, _S),
        (GUARDIAN_ID, _S),
        (GUARDIAN_ID_RAW, _S),
        (GUARDIAN_ID_STATUS, _S),
        (TICKET_NO, _S),
        (REQUEST_DATE, _D),
        (REQUEST_TEXT, _S),
        (REQUEST_CATEGORY, _S),
        (HANDLING_STATUS, _S),
        (REPORT_DATE, _D),
        (HARDSHIP_TEXT, _S),
        (REPORTER, _S),
        (REPORTER_PHONE, _S),
        (PLATE_NO, _S),
        (VEHICLE_TYPE, _S),
        (VEHICLE_USE, _S),
        (VEHICLE_STATUS, _S),
        (FIRST_REGISTERED, _D),
        (PROPERTY_LOCATION, _S),
        (FLOOR_AREA, _F),
        (PROPERTY_USE, _S),
        (PROPERTY_REGISTERED, _D),
        (FLAGS, _S),
    ]
)

RECORD_COLUMNS: tuple[str, ...] = tuple(RECORD_SCHEMA.names)

#: Chinese labels for columns shown to bureau and township staff (quality workbooks, messages).
LABELS: dict[str, str] = {
    SOURCE: "数据来源",
    FILE: "文件",
    ROW: "行号",
    NAME: "姓名",
    ID_NUMBER: "身份证号",
    SEX: "性别",
    PHONE: "联系电话",
    COUNTY: "县(市、区)",
    TOWNSHIP: "乡(镇、街道)",
    VILLAGE: "村(社区)",
    ADDRESS: "地址",
    HOUSEHOLD_NO: "户编号",
    RELATION: "与户主关系",
    MONITOR_CATEGORY: "监测对象类别",
    RISK_TYPE: "主要风险类型",
    RISK_ELIMINATED: "风险是否已消除",
    HOUSEHOLD_SIZE: "家庭人口数",
    INCOME_PER_CAPITA: "家庭年人均纯收入",
    DISABILITY_CERT: "残疾证号",
    DISABILITY_CATEGORY: "残疾类别",
    DISABILITY_GRADE: "残疾等级",
    ISSUE_DATE: "发证日期",
    HEAD_NAME: "户主姓名",
    HEAD_ID: "户主身份证号",
    ASSISTANCE_CATEGORY: "救助类别",
    ASSISTANCE_STATUS: "保障状态",
    ENROLLED_DATE: "纳入时间",
    MONTHLY_AMOUNT: "月保障金额",
    SUBSIDY_CATEGORY: "补贴类别",
    PAY_MONTH: "发放年月",
    AMOUNT: "发放金额",
    SETTLEMENT_NO: "结算单号",
    AGE: "年龄",
    HOSPITAL: "定点医疗机构",
    ADMIT_DATE: "入院日期",
    DISCHARGE_DATE: "出院日期",
    DIAGNOSIS: "出院诊断",
    TOTAL_COST: "医疗费总额",
    FUND_PAID: "统筹基金支付",
    CRITICAL_ILLNESS_PAID: "大病保险支付",
    MEDICAL_AID_PAID: "医疗救助支付",
    OUT_OF_POCKET: "个人自付",
    DEATH_DATE: "死亡日期",
    CREMATION_DATE: "火化日期",
    FUNERAL_HOME: "殡仪馆",
    SCHOOL: "学校名称",
    SCHOOL_STAGE: "学段",
    GRADE: "年级",
    GUARDIAN_NAME: "监护人姓名",
    GUARDIAN_ID: "监护人身份证号",
    TICKET_NO: "工单编号",
    REQUEST_DATE: "受理时间",
    REQUEST_TEXT: "诉求内容",
    REQUEST_CATEGORY: "诉求类别",
    HANDLING_STATUS: "办理状态",
    REPORT_DATE: "上报日期",
    HARDSHIP_TEXT: "困难情形",
    REPORTER: "上报人",
    REPORTER_PHONE: "上报人电话",
    PLATE_NO: "号牌号码",
    VEHICLE_TYPE: "车辆类型",
    VEHICLE_USE: "使用性质",
    VEHICLE_STATUS: "车辆状态",
    FIRST_REGISTERED: "初次登记日期",
    PROPERTY_LOCATION: "坐落",
    FLOOR_AREA: "建筑面积(㎡)",
    PROPERTY_USE: "用途",
    PROPERTY_REGISTERED: "登记日期",
}
