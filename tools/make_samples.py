"""Build the extraction corpus: the same short documents in Japanese, Korean and English, in
every format the worker extracts, each with the text it must yield.

    python -m tools.make_samples DEST        # writes DEST/<files> and DEST/manifest.json
    python -m tools.make_samples --samples   # (re)writes the demo files in samples/

The writers are independent libraries (reportlab, python-docx, openpyxl, python-pptx, xlwt;
pinned in requirements-dev.txt), so what the extractor reads is what real Office/PDF software
writes, not what it wrote itself. OpenDocument, RTF and e-mail are written by hand to the
format's specification (no maintained writer library is needed for a few paragraphs).
"""
from __future__ import annotations

import argparse
import email.message
import email.policy
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TEXTS: dict[str, dict[str, object]] = {
    "ja": {
        "title": "議事録 第12回 定例会議",
        "author": "山田 太郎",
        "paragraphs": [
            "本日の会議では、来月のリリース予定と障害対応の手順について確認しました。",
            "担当者は各自の作業を金曜日までに完了し、結果を報告書にまとめてください。",
            "次回の会議は東京本社の会議室で行います。資料の準備をお願いします。",
        ],
        "table": [["項目", "担当", "期限"], ["設計書の確認", "佐藤", "十月三日"],
                  ["試験環境の構築", "鈴木", "十月十日"]],
    },
    "ko": {
        "title": "회의록 제12차 정기 회의",
        "author": "김철수",
        "paragraphs": [
            "오늘 회의에서는 다음 달 출시 일정과 장애 대응 절차를 확인했습니다.",
            "담당자는 금요일까지 각자의 작업을 완료하고 결과를 보고서로 정리해 주십시오.",
            "다음 회의는 서울 본사 회의실에서 진행합니다. 자료 준비를 부탁드립니다.",
        ],
        "table": [["항목", "담당", "기한"], ["설계서 확인", "박지민", "시월 삼일"],
                  ["시험 환경 구축", "이영희", "시월 십일"]],
    },
    "en": {
        "title": "Minutes of the twelfth weekly meeting",
        "author": "Jane Smith",
        "paragraphs": [
            "Today we confirmed next month's release schedule and the incident response steps.",
            "Owners finish their tasks by Friday and summarise the results in the report.",
            "The next meeting takes place in the London office. Please prepare the documents.",
        ],
        "table": [["Item", "Owner", "Due"], ["Review the design", "Brown", "October third"],
                  ["Build the test environment", "Green", "October tenth"]],
    },
}


def expected_text(lang: str, with_table: bool = True) -> str:
    t = TEXTS[lang]
    parts = [str(t["title"]), *t["paragraphs"]]  # type: ignore[misc]
    if with_table:
        parts += [" ".join(row) for row in t["table"]]  # type: ignore[union-attr]
    return "\n".join(parts)


# -- writers ---------------------------------------------------------------------------------

def write_pdf(path: Path, lang: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    t = TEXTS[lang]
    font = {"ja": "HeiseiMin-W3", "ko": "HYSMyeongJo-Medium", "en": "Helvetica"}[lang]
    if lang != "en":
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(str(t["title"]))
    c.setAuthor(str(t["author"]))
    y = 800
    c.setFont(font, 14)
    c.drawString(50, y, str(t["title"]))
    c.setFont(font, 10)
    for para in t["paragraphs"]:  # type: ignore[union-attr]
        y -= 24
        c.drawString(50, y, para)
    c.showPage()  # the table on page 2: page boundaries must survive
    c.setFont(font, 10)
    y = 800
    for row in t["table"]:  # type: ignore[union-attr]
        c.drawString(50, y, "   ".join(row))
        y -= 18
    c.showPage()
    c.save()


def write_docx(path: Path, lang: str) -> None:
    import docx

    t = TEXTS[lang]
    d = docx.Document()
    d.core_properties.title = str(t["title"])
    d.core_properties.author = str(t["author"])
    d.add_heading(str(t["title"]), level=1)
    for para in t["paragraphs"]:  # type: ignore[union-attr]
        d.add_paragraph(para)
    rows = t["table"]
    table = d.add_table(rows=len(rows), cols=3)  # type: ignore[arg-type]
    for r, row in enumerate(rows):  # type: ignore[arg-type]
        for col, value in enumerate(row):
            table.cell(r, col).text = value
    d.sections[0].footer.paragraphs[0].text = str(t["author"])
    d.save(str(path))


def write_xlsx(path: Path, lang: str) -> None:
    import openpyxl

    t = TEXTS[lang]
    wb = openpyxl.Workbook()
    wb.properties.title = str(t["title"])
    wb.properties.creator = str(t["author"])
    ws = wb.active
    ws.title = "Sheet1"
    ws.append([str(t["title"])])
    for para in t["paragraphs"]:  # type: ignore[union-attr]
        ws.append([para])
    second = wb.create_sheet("Table")
    for row in t["table"]:  # type: ignore[union-attr]
        second.append(row)
    second.append([1, 2, "=A5+B5"])  # a formula: its text must not be indexed
    wb.save(str(path))


def write_xls(path: Path, lang: str) -> None:
    import xlwt

    t = TEXTS[lang]
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Sheet1")
    ws.write(0, 0, str(t["title"]))
    for i, para in enumerate(t["paragraphs"], start=1):  # type: ignore[arg-type]
        ws.write(i, 0, para)
    second = wb.add_sheet("Table")
    for r, row in enumerate(t["table"]):  # type: ignore[arg-type]
        for col, value in enumerate(row):
            second.write(r, col, value)
    wb.save(str(path))


def write_pptx(path: Path, lang: str) -> None:
    import pptx

    t = TEXTS[lang]
    p = pptx.Presentation()
    p.core_properties.title = str(t["title"])
    p.core_properties.author = str(t["author"])
    slide = p.slides.add_slide(p.slide_layouts[1])
    slide.shapes.title.text = str(t["title"])
    slide.placeholders[1].text = str(t["paragraphs"][0])  # type: ignore[index]
    slide.notes_slide.notes_text_frame.text = str(t["paragraphs"][1])  # type: ignore[index]
    second = p.slides.add_slide(p.slide_layouts[5])
    second.shapes.title.text = str(t["paragraphs"][2])  # type: ignore[index]
    rows = t["table"]
    shape = second.shapes.add_table(len(rows), 3, 500000, 1500000, 8000000, 1200000)  # type: ignore[arg-type]
    for r, row in enumerate(rows):  # type: ignore[arg-type]
        for col, value in enumerate(row):
            shape.table.cell(r, col).text = value
    p.save(str(path))


_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
           'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/"')


def _xml(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _odf(path: Path, mimetype: str, body: str, lang: str) -> None:
    t = TEXTS[lang]
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS} '
               f'office:version="1.2"><office:body>{body}</office:body>'
               f'</office:document-content>')
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_ODF_NS} '
            f'office:version="1.2"><office:meta><dc:title>{_xml(str(t["title"]))}</dc:title>'
            f'<meta:initial-creator>{_xml(str(t["author"]))}</meta:initial-creator>'
            f'<meta:creation-date>2026-10-01T09:00:00</meta:creation-date></office:meta>'
            f'</office:document-meta>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # stored, first: as the spec says
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        z.writestr("meta.xml", meta, zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)


def _odf_table(rows: list[list[str]], name: str) -> str:
    out = f'<table:table table:name="{_xml(name)}">'
    for row in rows:
        out += "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{_xml(v)}</text:p>'
            "</table:table-cell>" for v in row) + "</table:table-row>"
    return out + "</table:table>"


def write_odt(path: Path, lang: str) -> None:
    t = TEXTS[lang]
    body = f'<office:text><text:h text:outline-level="1">{_xml(str(t["title"]))}</text:h>'
    body += "".join(f"<text:p>{_xml(p)}</text:p>" for p in t["paragraphs"])  # type: ignore[union-attr]
    body += _odf_table(t["table"], "Table1") + "</office:text>"  # type: ignore[arg-type]
    _odf(path, "application/vnd.oasis.opendocument.text", body, lang)


def write_ods(path: Path, lang: str) -> None:
    t = TEXTS[lang]
    first = [[str(t["title"])]] + [[p] for p in t["paragraphs"]]  # type: ignore[union-attr]
    body = ("<office:spreadsheet>" + _odf_table(first, "Sheet1")
            + _odf_table(t["table"], "Table") + "</office:spreadsheet>")  # type: ignore[arg-type]
    _odf(path, "application/vnd.oasis.opendocument.spreadsheet", body, lang)


def write_odp(path: Path, lang: str) -> None:
    t = TEXTS[lang]
    paras = t["paragraphs"]
    slide1 = (f'<draw:page draw:name="1"><draw:frame><draw:text-box><text:p>{_xml(str(t["title"]))}'
              f"</text:p><text:p>{_xml(paras[0])}</text:p></draw:text-box></draw:frame>"  # type: ignore[index]
              f"<presentation:notes><draw:frame><draw:text-box><text:p>{_xml(paras[1])}"  # type: ignore[index]
              "</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>")
    slide2 = (f'<draw:page draw:name="2"><draw:frame><draw:text-box><text:p>{_xml(paras[2])}'  # type: ignore[index]
              "</text:p></draw:text-box></draw:frame><draw:frame>"
              + _odf_table(t["table"], "t") + "</draw:frame></draw:page>")  # type: ignore[arg-type]
    body = f"<office:presentation>{slide1}{slide2}</office:presentation>"
    _odf(path, "application/vnd.oasis.opendocument.presentation", body, lang)


def _rtf_escape(s: str, codepage: str) -> str:
    out = []
    for ch in s:
        if ord(ch) < 128:
            out.append(ch if ch not in "\\{}" else "\\" + ch)
            continue
        try:
            raw = ch.encode(codepage)
            fallback = "".join(f"\\'{b:02x}" for b in raw)
        except UnicodeEncodeError:
            fallback = "?"
        code = ord(ch) if ord(ch) < 32768 else ord(ch) - 65536
        out.append(f"\\u{code}{fallback}")  # \uc1-style: Unicode plus the code page's bytes
    return "".join(out)


def write_rtf(path: Path, lang: str) -> None:
    t = TEXTS[lang]
    cpg = {"ja": "932", "ko": "949", "en": "1252"}[lang]
    uc = {"ja": 2, "ko": 2, "en": 1}[lang]
    codec = "cp" + cpg
    lines = [str(t["title"]), *t["paragraphs"], *(" ".join(r) for r in t["table"])]  # type: ignore[misc]
    body = "\\par\n".join(_rtf_escape(line, codec) for line in lines)
    info = (f"{{\\info{{\\title {_rtf_escape(str(t['title']), codec)}}}"
            f"{{\\author {_rtf_escape(str(t['author']), codec)}}}}}")
    path.write_bytes((f"{{\\rtf1\\ansi\\ansicpg{cpg}\\uc{uc}\\deff0{{\\fonttbl{{\\f0 Arial;}}}}"
                      f"{info}\n{body}\\par\n}}").encode("ascii"))


def write_eml(path: Path, lang: str) -> None:
    t = TEXTS[lang]
    charset = {"ja": "iso-2022-jp", "ko": "euc-kr", "en": "us-ascii"}[lang]
    msg = email.message.EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = str(t["title"])
    msg["From"] = "sender@example.com"
    msg["To"] = "team@example.com"
    msg["Date"] = "Thu, 01 Oct 2026 09:00:00 +0900"
    body = "\n".join([*t["paragraphs"], *(" ".join(r) for r in t["table"])])  # type: ignore[misc]
    if lang == "en":
        msg.set_content(body)
    else:
        msg.set_content(body.encode(charset), maintype="text", subtype="plain",
                        params={"charset": charset}, cte="7bit" if lang == "ja" else "base64")
    path.write_bytes(msg.as_bytes())


TEXT_ENCODINGS = {"ja": ("cp932", "euc_jp", "iso2022_jp", "utf-16"),
                  "ko": ("cp949", "euc_kr", "iso2022_kr"), "en": ("cp1252", "utf-8")}
CHINESE = {"gb18030": "会议记录\n今天的会议确认了下个月的发布计划和故障处理的步骤。负责人是王先生。",
           "big5": "會議記錄\n今天的會議確認了下個月的發佈計劃和故障處理的步驟。負責人是王先生。"}

WRITERS: dict[str, Callable[[Path, str], None]] = {
    "pdf": write_pdf, "docx": write_docx, "xlsx": write_xlsx, "xls": write_xls,
    "pptx": write_pptx, "odt": write_odt, "ods": write_ods, "odp": write_odp,
    "rtf": write_rtf, "eml": write_eml,
}


def build_corpus(dest: Path) -> list[dict[str, object]]:
    """Write every format in every language; returns the manifest (also written as JSON)."""
    dest.mkdir(parents=True, exist_ok=True)
    manifest: list[dict[str, object]] = []
    for lang in TEXTS:
        for fmt, writer in WRITERS.items():
            name = f"{lang}-sample.{fmt}"
            writer(dest / name, lang)
            manifest.append({"file": name, "format": fmt, "language": lang,
                             "expected": expected_text(lang, with_table=True)})
        for enc in TEXT_ENCODINGS[lang]:
            name = f"{lang}-{enc}.txt"
            text = expected_text(lang)
            (dest / name).write_bytes(text.encode(enc))
            manifest.append({"file": name, "format": "txt", "language": lang,
                             "encoding": enc, "expected": text, "exact": True})
    for enc, text in CHINESE.items():
        name = f"zh-{enc}.txt"
        (dest / name).write_bytes(text.encode(enc))
        manifest.append({"file": name, "format": "txt", "language": "zh", "encoding": enc,
                         "expected": text, "exact": True})
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
    return manifest


# The demo's extraction samples (samples/), kept small.
DEMO_SAMPLES = {"report.pdf": ("pdf", "ja"), "minutes.docx": ("docx", "ko"),
                "budget.xlsx": ("xlsx", "en"), "slides.pptx": ("pptx", "ja")}


def write_demo_samples(folder: Path) -> None:
    for name, (fmt, lang) in DEMO_SAMPLES.items():
        WRITERS[fmt](folder / name, lang)
    (folder / "議事録-sjis.txt").write_bytes(expected_text("ja").encode("cp932"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", nargs="?", type=Path)
    parser.add_argument("--samples", action="store_true", help="write the demo files in samples/")
    args = parser.parse_args(argv)
    if args.samples:
        write_demo_samples(REPO / "samples")
    if args.dest:
        print(f"{len(build_corpus(args.dest))} files in {args.dest}")
    if not args.samples and not args.dest:
        parser.error("give DEST or --samples")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

