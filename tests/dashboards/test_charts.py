"""Server-side SVG charts: well-formed, accessible, escaped, deterministic."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from reviews import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_it_draws_one_labelled_bar_per_item_scaled_to_the_largest() -> None:
    root = parse(charts.hbar([("运行中", 8), ("已撤销", 2), ("建设中", 0)], title="工作室按状态", unit="个"))
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "工作室按状态"
    assert "运行中 8个" in root.find(f"{SVG}desc").text
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert abs(widths[0] - 4 * widths[1]) < 0.5 and widths[2] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "8个" in texts and "2个" in texts


def test_it_escapes_what_it_is_given() -> None:
    svg = charts.hbar([("<script>alert(1)</script>", 1)], title="a & b")
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "a & b"


def test_it_stacks_columns_and_labels_each_total() -> None:
    svg = charts.columns(["2024", "2025"], [charts.Series("合格", [3, 5]), charts.Series("不合格", [1, 0])],
                         title="考核结果", stacked=True)
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"合格", "不合格", "4", "5", "2024", "2025"} <= set(texts)


def test_it_shows_money_in_wan() -> None:
    svg = charts.columns(["2026"], [charts.Series("已拨付", [Decimal("150000")])], title="资金", fmt=charts.wan)
    assert ">15.0<" in svg


def test_it_draws_the_funnel_with_who_fell_out_beside_each_step() -> None:
    root = parse(charts.funnel([("提交申报", 10, ""), ("形式审查", 10, "退回修改2，不通过1"), ("批准设立", 4, "")],
                               title="评审漏斗"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "退回修改2，不通过1" in texts and "10" in texts and "4" in texts


def test_it_gives_the_same_svg_for_the_same_figures() -> None:
    # PDFs are stored by the hash of their HTML (portal/pdf.py): a chart must not change from run to run.
    assert charts.hbar([("甲", 1)], title="t") == charts.hbar([("甲", 1)], title="t")
    assert charts.hbar([("甲", 1)], title="t") != charts.hbar([("甲", 2)], title="t")


def test_it_copes_with_nothing_to_draw() -> None:
    parse(charts.hbar([], title="空"))
    parse(charts.columns([], [], title="空"))
    parse(charts.funnel([], title="空"))
    parse(charts.columns(["2026"], [charts.Series("零", [0])], title="零"))
