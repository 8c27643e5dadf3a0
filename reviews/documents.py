"""The bureau's published documents as PDFs: the public notice (公示) and the establishment
document (设立文件) with its list of studios. Templates in templates/documents/, one function each."""
from __future__ import annotations

from typing import Any

from portal import access, pdf
from reviews.models import Notice
from workshops.models import Studio


def notice_source(notice: Notice) -> pdf.Source:
    """The printable notice: only what the public page shows (the entries' published copies)."""
    return "documents/notice.html", {
        "doc_title": notice.title, "doc_author": notice.city.bureau_name, "notice": notice,
        "issuer": notice.city.bureau_name, "entries": list(notice.entries.order_by("position")),
        "published_on": notice.published_at.date() if notice.published_at else notice.starts_on, "sensitive": False}


def render_notice(notice: Notice) -> bytes:
    return pdf.render(*notice_source(notice))


@pdf.document("reviews.notice")
def _notice_document(object_id: int, variant: str) -> pdf.Source:
    return notice_source(Notice.objects.published().select_related("city").get(pk=object_id))


def yuan(amount: int) -> str:
    """50000 → 5万元, as official documents write sums."""
    return f"{amount // 10000}万元" if amount % 10000 == 0 else f"{amount}元"


def establishment_studios(studio: Studio) -> list[Studio]:
    """The studios set up by the same document (same city, same 设立文号)."""
    if not studio.establishment_doc:
        return []
    return list(Studio.objects.filter(city_id=studio.city_id, establishment_doc=studio.establishment_doc)
                .select_related("organization", "leader", "district").order_by("established_on", "name", "pk"))


def establishment_source(studio: Studio) -> pdf.Source:
    studios = establishment_studios(studio)
    policy = studio.policy
    categories = {c.code: c.label for c in policy.categories}
    subsidies = [{"label": s.label, "amount": yuan(s.amount_yuan), "is_cap": s.is_cap,
                  "subject_to_budget": s.subject_to_budget}
                 for s in policy.subsidies_on("establishment") if s.amount_yuan]
    rows = [{"name": s.name, "organization": s.organization.name, "leader": s.leader.name,
             "occupation": s.occupation, "category": categories.get(s.category, s.category),
             "district": s.district.name} for s in studios]
    first = studios[0] if studios else studio
    return "documents/establishment.html", {
        "doc_title": f"关于设立{policy.city_name}技能大师工作室的通知", "doc_author": policy.bureau_name,
        "issuer": policy.bureau_name, "document_number": studio.establishment_doc, "policy": policy,
        "addressees": f"各{policy.jurisdiction.level_label}人力资源和社会保障部门，各有关单位",
        "rows": rows, "count": len(rows), "established_on": first.established_on,
        "plaque_now": policy.plaque_timing == "establishment", "plaque_issuer": policy.plaque.issued_by,
        "subsidies": subsidies, "has_notice": policy.has_stage("notice"), "sensitive": False}


def render_establishment(studio: Studio) -> bytes:
    return pdf.render(*establishment_source(studio))


@pdf.document("reviews.establishment")
def _establishment_document(object_id: int, variant: str) -> pdf.Source:
    return establishment_source(Studio.objects.select_related("city").get(pk=object_id))


@access.rule("document.establishment")
def _establishment(user: Any, studio: Any) -> bool:
    """A visible studio's establishing document: it was published (呼和浩特 第九条(四) 向社会公布)."""
    return studio is not None and bool(studio.establishment_doc)
