"""Loaders: PDF (pages, labels, outline), DOCX, HTML, Markdown and text encodings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from pypdf import PdfReader, PdfWriter
from pypdf.constants import PageLabelStyle

from assistant.errors import IngestionError
from ingestion.loaders import apply_outline, decode_text, load_document


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one Helvetica text line per string (ASCII only)."""
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 760 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({escaped}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
            f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def rewrite_pdf(
    data: bytes,
    *,
    outline: list[tuple[str, int, str | None]] | None = None,
    roman_front: int = 0,
    password: str | None = None,
) -> bytes:
    """Add outline items (title, 0-based page, parent title), page labels or encryption."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    items: dict[str, Any] = {}
    for title, page, parent in outline or []:
        items[title] = writer.add_outline_item(
            title=title, page_number=page, parent=items.get(parent or "")
        )
    if roman_front:
        writer.set_page_label(0, roman_front - 1, style=PageLabelStyle.LOWERCASE_ROMAN)
        writer.set_page_label(
            roman_front, len(writer.pages) - 1, style=PageLabelStyle.DECIMAL, start=1
        )
    if password:
        writer.encrypt(user_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_lines_carry_physical_pages_labels_and_outline_headings(tmp_path: Path) -> None:
    pdf = make_pdf(
        [
            ["Front matter page"],
            ["Contents listing"],
            ["Introduction", "Opioids are effective for acute pain in some patients."],
            ["Recommendation 1", "Clinicians should maximize nonopioid therapies."],
        ]
    )
    pdf = rewrite_pdf(
        pdf,
        outline=[("Introduction", 2, None), ("Recommendation 1", 3, "Introduction")],
        roman_front=2,
    )
    loaded = load_document(tmp_path / "g.pdf", pdf, fmt="pdf")
    assert loaded.pages == 4
    assert loaded.page_labels == ["i", "ii", "1", "2"]
    by_text = {line.text: line for line in loaded.lines}
    assert by_text["Introduction"].level == 1
    assert by_text["Introduction"].page == 3
    assert by_text["Recommendation 1"].level == 2
    assert by_text["Clinicians should maximize nonopioid therapies."].page == 4
    assert by_text["Clinicians should maximize nonopioid therapies."].level is None


def test_outline_title_wrapped_over_two_lines_becomes_one_heading() -> None:
    from ingestion.loaders import RawLine

    lines = [
        RawLine("Clinical Practice Guideline ", page=5),
        RawLine("Development Methods", page=5),
        RawLine("The review addressed effectiveness.", page=5),
    ]
    marked = apply_outline(lines, [("Clinical Practice Guideline \nDevelopment Methods", 5, 1)])
    assert [(line.text, line.level) for line in marked] == [
        ("Clinical Practice Guideline Development Methods", 1),
        ("The review addressed effectiveness.", None),
    ]


def test_outline_sentence_bookmarks_are_ignored() -> None:
    from ingestion.loaders import RawLine

    sentence = (
        "树立“时间就是大脑”观念，推广使用“中风120”口诀、“BEFAST”口诀等快速识别脑血管病早期症状。"
    )
    lines = [RawLine(sentence, page=2)]
    assert apply_outline(lines, [(sentence, 2, 1)])[0].level is None


def test_docx_headings_from_styles_including_chinese_style_names(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Sepsis bundle", style="Title")
    document.add_paragraph("Initial care", style="Heading 1")
    document.add_paragraph("Give antibiotics within one hour.")
    zh_style = document.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("抗菌药物", style=zh_style)
    document.add_paragraph("一小时内给予抗菌药物。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Lactate"
    table.rows[0].cells[1].text = "> 2 mmol/L"
    buffer = io.BytesIO()
    document.save(buffer)
    loaded = load_document(tmp_path / "s.docx", buffer.getvalue(), fmt="docx")
    got = [(line.text, line.level) for line in loaded.lines]
    assert got == [
        ("Sepsis bundle", 1),
        ("Initial care", 2),
        ("Give antibiotics within one hour.", None),
        ("抗菌药物", 3),
        ("一小时内给予抗菌药物。", None),
        ("Lactate | > 2 mmol/L", None),
    ]
    assert all(line.block_end for line in loaded.lines)


def test_html_headings_and_boilerplate_stripped(tmp_path: Path) -> None:
    html = """<html><head><title>Hand hygiene</title><style>p{color:red}</style></head>
    <body><nav>Home | About</nav><header>Hospital intranet</header>
    <h1>Hand hygiene</h1><p>Clean hands <b>before</b> touching a patient.</p>
    <h2>Alcohol rub</h2><ul><li>Use 3 ml.</li><li>Rub 20 seconds.</li></ul>
    <script>var tracking = 1;</script><footer>© Hospital</footer><aside>Ads</aside></body></html>"""
    loaded = load_document(tmp_path / "h.html", html.encode(), fmt="html")
    got = [(line.text, line.level) for line in loaded.lines]
    assert got == [
        ("Hand hygiene", 1),
        ("Clean hands before touching a patient.", None),
        ("Alcohol rub", 2),
        ("Use 3 ml.", None),
        ("Rub 20 seconds.", None),
    ]
    assert loaded.info["title"] == "Hand hygiene"


def test_markdown_atx_and_setext_headings_outside_code_fences(tmp_path: Path) -> None:
    md = (
        "Fever guide\n===========\n\nIntro line one\ncontinues here.\n\n"
        "Dosing\n------\n\n## Children\n\n- 10 mg/kg\n- every 6 h\n\n"
        "```\n# not a heading\n```\n"
    )
    loaded = load_document(tmp_path / "f.md", md.encode(), fmt="markdown")
    got = [(line.text, line.level, line.block_end) for line in loaded.lines]
    assert got == [
        ("Fever guide", 1, True),
        ("Intro line one", None, False),
        ("continues here.", None, True),
        ("Dosing", 2, True),
        ("Children", 2, True),
        ("- 10 mg/kg", None, True),
        ("- every 6 h", None, True),
        ("# not a heading", None, True),
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("流感诊疗方案".encode(), "流感诊疗方案"),
        ("\ufeff流感诊疗方案".encode(), "流感诊疗方案"),
        ("流感诊疗方案（２０２５年版）".encode("gb18030"), "流感诊疗方案（２０２５年版）"),
    ],
    ids=["utf8", "utf8-bom", "gb18030"],
)
def test_text_encodings_detected(data: bytes, expected: str) -> None:
    assert decode_text(data, path=Path("x.txt")) == expected


def test_undecodable_text_is_refused_with_advice() -> None:
    with pytest.raises(IngestionError) as info:
        decode_text(b"\x81\x30\xff\xfe\x00\x01" * 20, path=Path("bad.txt"))
    assert "bad.txt" in info.value.user_message
    assert "UTF-8" in info.value.user_message


def test_binary_that_happens_to_decode_is_refused() -> None:
    with pytest.raises(IngestionError, match="decode"):
        decode_text(bytes(range(0, 9)) * 50, path=Path("blob.txt"))
