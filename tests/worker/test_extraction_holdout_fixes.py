"""What the real-file holdout (bench/holdout.py) found missing, on files built here: text in
OpenDocument master pages, date cells, OOXML part names in another case, chart text and
values, PDF form fields, e-mail display names written as comments."""
from __future__ import annotations

import datetime
import zipfile
from pathlib import Path

from ingest_worker.extraction import Limits
from ingest_worker.extraction.dispatch import extract_file

_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


def _odf(path: Path, mimetype: str, body: str, masters: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        z.writestr("content.xml", f'<office:document-content {_ODF_NS}><office:body>{body}'
                   "</office:body></office:document-content>", zipfile.ZIP_DEFLATED)
        z.writestr("styles.xml", f'<office:document-styles {_ODF_NS}><office:styles>'
                   '<style:style style:name="S"><text:p>not text</text:p></style:style>'
                   f"</office:styles><office:master-styles>{masters}</office:master-styles>"
                   "</office:document-styles>", zipfile.ZIP_DEFLATED)
    return path


def _frame(text: str, cls: str = "") -> str:
    attr = f' presentation:class="{cls}"' if cls else ""
    return f"<draw:frame{attr}><draw:text-box><text:p>{text}</text:p></draw:text-box></draw:frame>"


def test_presentation_template_text_in_master_pages_once(tmp_path):
    slides = "".join(f'<draw:page draw:name="{i}" draw:master-page-name="M"/>' for i in (1, 2, 3))
    masters = (
        '<style:handout-master>' + _frame("handout only") + "</style:handout-master>"
        '<style:master-page style:name="M">' + _frame("Kaisha Confidential 社外秘")
        + _frame("Click to add Title", "title") + _frame("footer field", "footer")
        + "<presentation:notes>" + _frame("notes master") + "</presentation:notes>"
        "</style:master-page>")
    for name in ("deck.otp", "deck.odp"):
        path = _odf(tmp_path / name, "application/vnd.oasis.opendocument.presentation-template",
                    f"<office:presentation>{slides}</office:presentation>", masters)
        result = extract_file(str(path), name, Limits())
        assert result.status == "ok", result.error
        assert result.content.count("Kaisha Confidential 社外秘") == 1  # once, not per slide
        for absent in ("Click to add", "footer field", "notes master", "handout", "not text"):
            assert absent not in result.content
        assert result.page_count == 3


def test_text_document_headers_and_footers_from_master_pages(tmp_path):
    masters = ('<style:master-page style:name="Standard"><style:header><text:p>Quarterly '
               "report</text:p></style:header><style:footer><text:p>Page footer</text:p>"
               "</style:footer></style:master-page>")
    path = _odf(tmp_path / "r.odt", "application/vnd.oasis.opendocument.text",
                "<office:text><text:p>Body text</text:p></office:text>", masters)
    result = extract_file(str(path), "r.odt", Limits())
    assert result.content.split("\n") == ["Body text", "", "Quarterly report", "Page footer"]


_XLSX_PARTS = {
    "[Content_Types].xml": "<Types/>",
    "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                       'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                       'relationships"><sheets><sheet name="Stock" r:id="rId1"/></sheets>'
                       "</workbook>",
    "xl/_rels/workbook.xml.rels": '<Relationships><Relationship Id="rId1" '
                                  'Target="worksheets/sheet1.xml"/></Relationships>',
    # A writer that capitalises the part name (seen in the holdout): OPC names are
    # case-insensitive.
    "xl/SharedStrings.xml": "<sst><si><t>Остатки на складе</t></si></sst>",
    "xl/styles.xml": '<styleSheet><numFmts><numFmt numFmtId="164" formatCode="yyyy/mm/dd"/>'
                     '<numFmt numFmtId="165" formatCode="[Red]0.00"/></numFmts>'
                     '<cellStyleXfs><xf numFmtId="14"/></cellStyleXfs><cellXfs><xf numFmtId="0"/>'
                     '<xf numFmtId="14"/><xf numFmtId="21"/><xf numFmtId="164"/>'
                     '<xf numFmtId="165"/><xf numFmtId="22"/></cellXfs></styleSheet>',
    "xl/worksheets/sheet1.xml": '<worksheet><sheetData><row><c t="s"><v>0</v></c>'
                                '<c s="1"><v>41998</v></c><c s="2"><v>0.466099537037037</v></c>'
                                '<c s="3"><v>42005</v></c><c s="4"><v>42005</v></c>'
                                '<c s="5"><v>41998.5</v></c><c s="0"><v>7</v></c></row>'
                                "</sheetData></worksheet>",
}


def test_xlsx_date_cells_and_part_names_in_another_case(tmp_path):
    path = tmp_path / "stock.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _XLSX_PARTS.items():
            z.writestr(name, data)
    result = extract_file(str(path), "stock.xlsx", Limits())
    assert result.content == ("Stock\nОстатки на складе\t2014-12-25\t11:11:11\t2015-01-01\t"
                              "42005\t2014-12-25 12:00:00\t7")


def test_xlsx_date_cells_show_the_parts_their_format_shows(tmp_path):
    # pyexcel-xlsx's date_field.xlsx: a 0 in a date-formatted cell is 1899-12-30 (Excel's day
    # 0), not the time 00:00:00; an AM/PM format shows the 12-hour clock the reader sees.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Shifts"
    cells = [(0, "DD/MM/YY"), (datetime.time(13, 13, 13), "h:mm:ss AM/PM"),
             (datetime.time(0, 5, 0), "[$-409]h:mm AM/PM;@"),
             (datetime.datetime(2015, 1, 1, 13, 13, 13), "yyyy-mm-dd"),
             (datetime.datetime(2015, 1, 1, 9, 30), "yyyy-mm-dd hh:mm:ss")]
    for col, (value, code) in enumerate(cells, start=1):
        sheet.cell(row=1, column=col, value=value).number_format = code
    book.save(str(tmp_path / "s.xlsx"))
    result = extract_file(str(tmp_path / "s.xlsx"), "s.xlsx", Limits())
    assert result.content == ("Shifts\n1899-12-30\t01:13:13 PM\t12:05:00 AM\t2015-01-01\t"
                              "2015-01-01 09:30:00")


def test_cell_numbers_with_the_15_digits_excel_keeps(tmp_path):
    # xlrd's profiles.xls: sums stored as 3.9000000000000057 are 3.90000000000001 in Excel and
    # LibreOffice (15 significant digits); the float's repr made words no one sees.
    import openpyxl
    import xlwt

    values = [3.9000000000000057, 0.1 + 0.2, 12.5, 7.0, 1234567.891]
    book = openpyxl.Workbook()
    book.active.title = "Sums"
    book.active.append(values)
    book.save(str(tmp_path / "n.xlsx"))
    legacy = xlwt.Workbook()
    sheet = legacy.add_sheet("Sums")
    for col, value in enumerate(values):
        sheet.write(0, col, value)
    legacy.save(str(tmp_path / "n.xls"))
    for name in ("n.xlsx", "n.xls"):
        result = extract_file(str(tmp_path / name), name, Limits())
        assert result.content == "Sums\n3.90000000000001\t0.3\t12.5\t7\t1234567.891", name


def test_xls_date_and_time_cells(tmp_path):
    import xlwt
    book = xlwt.Workbook()
    sheet = book.add_sheet("Dates")
    sheet.write(0, 0, datetime.date(2014, 12, 25), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    sheet.write(0, 1, datetime.time(11, 11, 11), xlwt.easyxf(num_format_str="hh:mm:ss"))
    sheet.write(0, 2, datetime.datetime(2015, 1, 1, 13, 13, 13),
                xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss"))
    book.save(str(tmp_path / "d.xls"))
    result = extract_file(str(tmp_path / "d.xls"), "d.xls", Limits())
    assert result.content == "Dates\n2014-12-25\t11:11:11\t2015-01-01 13:13:13"


def test_chart_titles_series_and_categories_in_a_presentation(tmp_path):
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Revenue"
    data = CategoryChartData()
    data.categories = ["Tokyo", "Osaka", "Seoul"]
    data.add_series("FY2025", (1.5, 2.25, 3.0))
    chart = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1),
                                   Inches(6), Inches(4), data).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Sales by office"
    prs.save(str(tmp_path / "c.pptx"))
    result = extract_file(str(tmp_path / "c.pptx"), "c.pptx", Limits())
    lines = result.content.split("\n")
    for expected in ("Revenue", "Sales by office", "FY2025", "Tokyo", "Osaka", "Seoul"):
        assert expected in lines
    # The plotted values are cached in the chart part (data labels and data tables show them).
    assert "2.25" in lines


def test_chart_multi_level_categories_every_level(tmp_path):
    # python-pptx's cht-category-access.pptx: cities under regions under countries
    # (c:multiLvlStrCache) were lost, only the series names came out.
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    data = CategoryChartData()
    japan = data.add_category("Japan")
    kanto = japan.add_sub_category("Kanto")
    kanto.add_sub_category("Yokohama")
    kanto.add_sub_category("Chiba")
    kansai = japan.add_sub_category("Kansai")
    kansai.add_sub_category("Kobe")
    data.add_series("Stores", (12, 7, 5))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1), Inches(6),
                           Inches(4), data)
    prs.save(str(tmp_path / "m.pptx"))
    xml = zipfile.ZipFile(tmp_path / "m.pptx").read("ppt/charts/chart1.xml").decode()
    assert "multiLvlStrCache" in xml  # the case this test is about
    result = extract_file(str(tmp_path / "m.pptx"), "m.pptx", Limits())
    lines = result.content.split("\n")
    for expected in ("Stores", "Yokohama", "Chiba", "Kobe", "Kanto", "Kansai", "Japan", "12"):
        assert expected in lines


def test_pdf_form_field_values_and_list_entries(tmp_path):
    # pypdf's form samples: a filled-in field's value is stored in the form, not in the page's
    # text layer; pdftotext shows it, PDFium's page text did not.
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(tmp_path / "form.pdf"))
    c.drawString(72, 760, "Application")
    c.acroForm.textfield(name="applicant", value="Hanako Yamada", x=72, y=700, width=200)
    c.acroForm.choice(name="office", value="Osaka", options=["Tokyo", "Osaka"], x=72, y=650)
    c.acroForm.listbox(name="topics", value="Billing", options=["Billing", "Shipping"],
                       x=72, y=550, height=60)
    c.acroForm.checkbox(name="agree", x=72, y=500)
    c.save()
    result = extract_file(str(tmp_path / "form.pdf"), "form.pdf", Limits())
    assert result.status == "ok", result.error
    lines = result.content.split("\n")
    assert lines[0] == "Application"
    # The values a viewer shows: the text field, the combo box's choice, every list entry.
    for expected in ("Hanako Yamada", "Osaka", "Billing", "Shipping"):
        assert expected in lines
    assert "Tokyo" not in result.content  # a closed combo box shows only its value
    assert "Off" not in lines  # check boxes have no text


def test_eml_display_names_written_as_comments(tmp_path):
    # CPython's test_email msg_27: `addr (Display Name)`; the parsed header dropped the name.
    path = tmp_path / "m.eml"
    path.write_bytes(b"From: aperson@dom.ain (Anne P. Erson)\n"
                     b"To: =?utf-8?b?5bGx55Sw?= <yamada@example.jp>\n"
                     b"Subject: bug demonstration\n\ntest\n")
    result = extract_file(str(path), "m.eml", Limits())
    assert result.status == "ok", result.error
    assert "From: aperson@dom.ain (Anne P. Erson)" in result.content
    assert "To: 山田 <yamada@example.jp>" in result.content  # encoded words still decoded


def test_eml_without_headers_is_indexed_as_text(tmp_path):
    # CPython's test_email msg_19: a mailing-list digest body saved without its headers.
    path = tmp_path / "digest.eml"
    path.write_bytes("Send Ppp mailing list submissions to\n\tppp@zzz.org\n\nRésumé\n"
                     .encode("cp1252"))
    result = extract_file(str(path), "digest.eml", Limits())
    assert result.status == "ok" and result.content.startswith("Send Ppp mailing list")
    assert "Résumé" in result.content


def test_xlsx_with_windows_separators_in_part_names(tmp_path):
    # Apache POI's 49609 test file: xl\workbook.xml, xl\sharedstrings.xml, ...
    path = tmp_path / "poi.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _XLSX_PARTS.items():
            z.writestr(name.replace("/", "\\").lower(), data)
    result = extract_file(str(path), "poi.xlsx", Limits())
    assert result.status == "ok", result.error
    assert result.content.startswith("Stock\nОстатки на складе\t2014-12-25")


def test_encodings_cpythons_test_files_showed_missing():
    from ingest_worker.extraction import textenc

    korean = "회의록: 다음 주 월요일까지 보고서를 제출해 주세요.\n"
    assert textenc.decode(korean.encode("johab")) == (korean, "johab")
    chinese = "会议记录：请在下周一之前提交报告。\n"
    assert textenc.decode(chinese.encode("hz")) == (chinese, "hz")
    assert textenc.decode(b"plain ASCII with a ~{ tilde brace ~} in it\n")[1] == "ascii"
    # A KS X 1001:1998 make-up sequence (a syllable outside the 2,350 precomposed ones).
    makeup = korean.encode("euc_kr") + b"\xa4\xd4\xa4\xb8\xa4\xd0\xa4\xd4\n"
    assert textenc.decode(makeup) == (makeup.decode("euc_kr"), "euc_kr")
    # CPython's Lib/test/cjkencodings/big5hkscs.txt: only Big5-HKSCS extension characters
    # (rare: every reading scores below zero) in bytes cp1252 leaves undefined, so not Western
    # text. (A shorter sample of such characters alone can read better as GB18030.)
    hkscs = b"\x88E\x88\\\x8as\x8b\xda\x8d\xd8\n\x88f\x88b\x88\xa7 \x88\xa7\x88\xa3\n"
    assert textenc.decode(hkscs) == (hkscs.decode("big5hkscs"), "big5hkscs")


def test_embedded_objects_are_read_in_place_once(tmp_path):
    # odfpy's emb_spreadsheet.odp: a spreadsheet object inside a slide.
    sheet = ('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
             'office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
             '<office:spreadsheet><table:table table:name="Hidden"><table:table-row>'
             "<table:table-cell><text:p>Tokyo</text:p></table:table-cell><table:table-cell>"
             "<text:p>42</text:p></table:table-cell></table:table-row></table:table>"
             "</office:spreadsheet></office:body></office:document-content>")
    slides = ('<draw:page draw:name="1"><draw:frame><draw:text-box><text:p>Before</text:p>'
              '</draw:text-box></draw:frame><draw:frame><draw:object xlink:href="./Object 1"'
              ' xmlns:xlink="http://www.w3.org/1999/xlink"/></draw:frame><draw:frame>'
              '<draw:object xlink:href="./" xmlns:xlink="http://www.w3.org/1999/xlink"/>'
              '</draw:frame></draw:page><draw:page draw:name="2"><draw:frame><draw:text-box>'
              "<text:p>After</text:p></draw:text-box></draw:frame></draw:page>")
    path = _odf(tmp_path / "e.odp", "application/vnd.oasis.opendocument.presentation",
                f"<office:presentation>{slides}</office:presentation>", "")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("Object 1/content.xml", sheet)
    result = extract_file(str(path), "e.odp", Limits())
    assert result.status == "ok", result.error
    # In place, without the sheet's name or a page boundary of its own; "./" is not re-read.
    assert result.content == "Before\n\nTokyo\t42\t\n\n\fAfter"
    assert result.page_count == 2
