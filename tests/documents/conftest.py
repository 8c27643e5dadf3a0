"""Reading PDFs back: text, pages, fonts. Set PDF_DUMP_DIR to keep every rendered PDF for a look
(`pdftoppm -r 80 -png file.pdf out` turns one into pictures)."""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

A4 = (595.28, 841.89)  # points


@dataclass
class Pdf:
    data: bytes

    @property
    def reader(self) -> PdfReader:
        return PdfReader(io.BytesIO(self.data))

    @property
    def pages(self) -> int:
        return len(self.reader.pages)

    def page_text(self, index: int) -> str:
        return self.reader.pages[index].extract_text()

    @property
    def text(self) -> str:
        return "\n".join(page.extract_text() for page in self.reader.pages)

    @property
    def flat(self) -> str:
        """The text without line breaks or spaces: a value wrapped over lines is found whole."""
        return re.sub(r"\s+", "", self.text)

    def fonts(self) -> dict[str, bool]:
        """Every font the pages use → whether its program is embedded in the file."""
        found: dict[str, bool] = {}
        for page in self.reader.pages:
            for font in (page["/Resources"].get("/Font") or {}).values():
                font = font.get_object()
                descendants = font.get("/DescendantFonts")
                target = descendants[0].get_object() if descendants else font
                descriptor = target.get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor else {}
                embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                found[str(target.get("/BaseFont"))] = embedded
        return found

    def to_unicode(self) -> str:
        """All ToUnicode maps, lower-case hex: what a viewer copies for each glyph."""
        maps = []
        for page in self.reader.pages:
            for font in (page["/Resources"].get("/Font") or {}).values():
                stream = font.get_object().get("/ToUnicode")
                if stream is not None:
                    maps.append(stream.get_object().get_data().decode("latin-1").lower())
        return "\n".join(maps)

    def page_sizes(self) -> set[tuple[float, float]]:
        return {(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in self.reader.pages}


@pytest.fixture
def read_pdf(request: Any) -> Any:
    def read(data: bytes, name: str = "") -> Pdf:
        assert data.startswith(b"%PDF-"), data[:20]
        folder = os.environ.get("PDF_DUMP_DIR")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"\W+", "-", f"{request.node.name}-{name}").strip("-")
            (Path(folder) / f"{stem}.pdf").write_bytes(data)
        return Pdf(data)

    return read


def assert_well_formed(doc: Pdf, *, pages: int | None = None) -> None:
    """A4, every font embedded, the page count when given."""
    assert doc.page_sizes() == {A4}
    fonts = doc.fonts()
    assert fonts and all(fonts.values()), fonts
    assert all("Noto-Serif-CJK-SC" in name for name in fonts), fonts
    if pages is not None:
        assert doc.pages == pages, doc.pages
