"""Export of a shop's members and tier history in keyset pages, and the import template.

The gateway pages through these (by member_id, by decision_id) and streams the
CSV or builds the XLSX; a page is one indexed range scan, so the millionth
member costs what the first one does and no process holds all of them.
"""
import base64
import csv
import io

from members import import_contracts, import_store
from members.imports import COLUMNS, EXAMPLE_ROW


def template_csv():
    """member-template.csv: the header and one example row (UTF-8 with a BOM, so Excel shows Thai)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["phone*", *COLUMNS[1:]])
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx():
    """member-template.xlsx: the same header and example row; phone and birthday as text cells."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "members"
    sheet.append(["phone*", *COLUMNS[1:]])
    sheet.append([EXAMPLE_ROW[0], EXAMPLE_ROW[1], int(EXAMPLE_ROW[2]), *EXAMPLE_ROW[3:]])
    for column in ("A", "E"):
        for cell in sheet[column]:
            cell.number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TEMPLATES = {
    "csv": ("member-template.csv", "text/csv; charset=utf-8", template_csv),
    "xlsx": ("member-template.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             template_xlsx),
}
MEMBERS_PAGE = import_contracts.MembersPage()
TIER_HISTORY_PAGE = import_contracts.TierHistoryPageResult()


def template(kind):
    filename, content_type, build = TEMPLATES[kind]
    return {"filename": filename, "content_type": content_type,
            "body_base64": base64.b64encode(build()).decode("ascii")}


def members_page(conn, cmd):
    rows = import_store.export_members(conn, cmd["shop_id"], cmd["after"] or "00000000-0000-0000-0000-000000000000",
                                       cmd["limit"])
    next_after = rows[-1]["member_id"] if len(rows) == cmd["limit"] else None
    return MEMBERS_PAGE.dump({"members": rows, "next_after": next_after})


def tier_history_page(conn, cmd):
    rows = import_store.export_tier_history(conn, cmd["shop_id"], cmd["after"] or 0, cmd["limit"])
    next_after = rows[-1]["decision_id"] if len(rows) == cmd["limit"] else None
    return TIER_HISTORY_PAGE.dump({"decisions": rows, "next_after": next_after})
