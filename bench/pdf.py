#!/usr/bin/env python
"""A filled Chinese application form vs the same document in Latin script, rendered in one run.

    .venv/bin/python bench/pdf.py [--runs 7] [--without-hb-subset]

Builds a 呼和浩特 application (附件2, every box filled with realistic text) in a throw-away SQLite
database, renders its HTML, and makes the Latin twin by replacing every CJK character with a
Latin letter (same characters, same markup) and the font with DejaVu Serif. Both are rendered
`--runs` times, alternating, straight through WeasyPrint (no cache); the first render of each is
reported as "cold". Then the cached path (`portal.pdf.render` finding the stored PDF by content
hash) is timed. Ends with `ratio=<median Chinese form / median Latin page>` (target ≤ 3).

`--without-hb-subset` makes WeasyPrint subset fonts with fontTools, as it does when Debian's
libharfbuzz-subset0 is missing, to show what the library is worth.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# CJK ideographs and radicals, full-width forms, CJK punctuation and the quotes Chinese text uses.
CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff\u3000-\u303f"
                 "\u2014\u2018-\u201d\u00b7]")
LATIN = "abcdefghijklmnopqrstuvwxyz"


def setup() -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # A fresh in-memory database built from the models (no migrations), like the test suite.
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "MIGRATE": False, "NAME": None}
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    store = tempfile.mkdtemp(prefix="bench-pdf-")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": store}}}
    call_command("loadpolicies", verbosity=0)


def make_form_application():  # noqa: ANN201
    from portal.models import Person
    from tests.factories import make_application, make_cast, make_person, walk
    from workshops.models import ApplicationMember
    from workshops.states import AppState

    cast = make_cast("hohhot")
    org = cast.org
    org.name, org.address = "内蒙古伊利实业集团股份有限公司液态奶事业部", "呼和浩特市金山开发区金山大街1号"
    org.legal_representative, org.contact_name, org.contact_phone = "潘刚", "乌云其其格", "0471-3388001"
    org.save()
    app = make_application(
        cast, leader_name="巴特尔", occupation="乳品检验员", site_address="金山开发区液态奶事业部质检中心二楼",
        equipment="高效液相色谱仪2台、气相色谱仪1台、原子吸收光谱仪1台、乳成分分析仪3台、微生物快检设备一套，"
                  "实训工位24个，多媒体教室一间（80平方米），可同时容纳40人开展理论与实操培训。",
        leader_achievements_text=(
            "从事乳品检验工作二十二年，主持制定企业内控检验标准十四项，其中三项被自治区采纳为地方标准；"
            "2016年获全国技术能手称号，2019年获“北疆工匠”称号，2021年享受国务院政府特殊津贴。"
            "主导研发的“生乳中非法添加物快速筛查方法”获国家发明专利，检测时间由四小时缩短至二十分钟，"
            "年节约检测成本三百余万元；带徒四十余名，其中十二人取得技师、高级技师资格。") * 2,
        necessity="乳业是呼和浩特市支柱产业，质检技能人才缺口大。", goals="三年培养高级工以上检验骨干15名。",
        work_plan="以师带徒、技术攻关、标准宣贯三条线并行。", support_measures="单位配套资金50万元，提供场地设备。")
    leader = Person.objects.get(pk=app.leader_id)
    leader.mobile = "13904711234"
    leader.save()
    for i, name in enumerate(["其木格", "张建国", "李秀英", "王海涛", "萨仁图雅", "刘志强"]):
        ApplicationMember.objects.create(application=app, person=make_person(organization=org, name=name),
                                         role="assistant" if i % 3 == 0 else "member")
    (app,) = walk(cast, [app], until=AppState.READY_FOR_NOTICE)
    return app


def latin_twin(html: str) -> str:
    """The same document in Latin script: one Latin letter per CJK character, a Latin font."""
    head, _, body = html.partition("</style>")
    counter = iter(range(10**9))
    body = CJK.sub(lambda m: LATIN[next(counter) % 26], body)
    head = head.replace('"Noto Serif CJK SC", "Noto Sans CJK SC", serif', '"DejaVu Serif", serif')
    head = CJK.sub(lambda m: LATIN[next(counter) % 26], head)
    return head + "</style>" + body


def timed(fn, *args):  # noqa: ANN001, ANN201
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def pages(data: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--without-hb-subset", action="store_true")
    args = parser.parse_args()
    setup()
    import logging

    logging.disable(logging.INFO)  # WeasyPrint logs every layout step at INFO
    from portal import pdf
    from workshops import documents

    if args.without_hb_subset:
        import weasyprint.pdf.fonts

        weasyprint.pdf.fonts.harfbuzz_subset = None
    app = make_form_application()
    template, context = documents.application_form_source(app)
    zh_html = pdf.prepare(template, context).html
    en_html = latin_twin(zh_html)
    assert not CJK.search(en_html.partition("</style>")[2]), "the Latin twin still has CJK text"

    zh_cold, zh_pdf = timed(pdf.html_to_pdf, zh_html)
    en_cold, en_pdf = timed(pdf.html_to_pdf, en_html)
    zh_times, en_times = [], []
    for _ in range(args.runs):
        zh_times.append(timed(pdf.html_to_pdf, zh_html)[0])
        en_times.append(timed(pdf.html_to_pdf, en_html)[0])
    zh, en = statistics.median(zh_times), statistics.median(en_times)

    def download() -> bytes:  # what a repeated download does: query, build the HTML, hash, read the store
        return pdf.render(*documents.application_form_source(app))

    download()  # stores it
    cached_times = [timed(download)[0] for _ in range(args.runs)]
    cached = statistics.median(cached_times)
    hb = "no (fontTools, forced)" if args.without_hb_subset else ("yes" if pdf.has_fast_subsetting() else "no")

    print(f"HarfBuzz subsetting: {hb}; runs: {args.runs}; text characters: "
          f"{len(CJK.findall(zh_html.partition('</style>')[2]))} CJK in the Chinese form")
    print(f"{'document':<44} {'pages':>5} {'KiB':>6} {'cold s':>7} {'median s':>9}")
    print(f"{'Chinese form (呼和浩特 附件2, Noto Serif CJK)':<40} {pages(zh_pdf):>5} {len(zh_pdf) // 1024:>6} "
          f"{zh_cold:>7.3f} {zh:>9.3f}")
    print(f"{'Latin twin (same markup, DejaVu Serif)':<44} {pages(en_pdf):>5} {len(en_pdf) // 1024:>6} "
          f"{en_cold:>7.3f} {en:>9.3f}")
    print(f"{'Chinese form, stored (content hash hit)':<44} {'':>5} {'':>6} {'':>7} {cached:>9.4f}")
    print(f"cached/latin={cached / en:.3f}")
    print(f"ratio={zh / en:.2f}")


if __name__ == "__main__":
    main()
