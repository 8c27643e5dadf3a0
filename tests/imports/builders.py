"""make_* helpers for spreadsheets: rows as dicts keyed by column key, written into the real template."""
from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.demo import fake_id_number, fake_uscc
from portal.models import City
from workshops import imports

_n = itertools.count(5000)


def region(city: City) -> str:
    code = city.districts.order_by("code").first().code
    return code[:6] if code[:6].isdigit() else "441900"


def unit_row(city: City, **over: Any) -> dict[str, Any]:
    n = next(_n)
    district = city.districts.order_by("code").first()
    return {"name": f"{city.name}导入单位{n}", "uscc": fake_uscc(n, region(city)), "kind": "企业",
            "district": district.name, "address": "工业大道1号", "contact_name": "李联系",
            "contact_phone": "0577-88886666", "training_site_area": 800, **over}


def person_id(city: City, birth: date = date(1972, 4, 1), sex: str = "M") -> str:
    return fake_id_number(birth, sex, next(_n), region(city))


def studio_row(city: City, org_uscc: str, **over: Any) -> dict[str, Any]:
    n = next(_n)
    return {"name": f"王{n}技能大师工作室", "org_uscc": org_uscc, "occupation": "数控车工",
            "established_on": date(2016, 6, 1), "establishment_doc": f"人社发〔2016〕{n}号", "state": "运行中",
            "leader_name": f"王{n}", "leader_id": person_id(city), "leader_mobile": "13800001234",
            "leader_level": "高级技师（一级）", **over}


def member_row(city: City, studio: dict[str, Any], **over: Any) -> dict[str, Any]:
    n = next(_n)
    return {"org_uscc": studio["org_uscc"], "leader_id": studio["leader_id"], "studio_name": studio["name"],
            "name": f"成员{n}", "id_number": person_id(city, date(1990, 1, 1)), "role": "工作室成员",
            "skill_level": "技师", **over}


def workbook(city: City, kind: str, sheets: dict[str, list[dict[str, Any]]] | list[dict[str, Any]]) -> bytes:
    """The city's template of `kind` with rows filled in (a list: the first sheet's rows)."""
    ctx = imports.Context(city)
    specs = imports.sheets_for(kind, ctx)
    if isinstance(sheets, list):
        sheets = {str(specs[0].name): sheets}
    rows = {str(s.name): [[r.get(c.key) for c in s.cols] for r in sheets.get(str(s.name), [])] for s in specs}
    return imports.build_workbook(kind, ctx, rows)


def upload(content: bytes, name: str = "导入.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=imports.XLSX_TYPE)


def check(city: City, kind: str, content: bytes, actor: Any = None) -> imports.Outcome:
    return imports.check_content(imports.Context(city, actor=actor), kind, content)


def problems(outcome: imports.Outcome) -> list[tuple[int, str, str]]:
    """(row, column, message) of every problem, file-level ones included."""
    found = [(p.row, p.column, p.message) for p in outcome.file_problems]
    return found + [(p.row, p.column, p.message) for c in outcome.rows for p in c.row.problems]
