"""Reading and validating member import files: pure, no I/O."""
import datetime
import io

import pytest

from members import exports, imports

TODAY = datetime.date(2026, 11, 27)
HEADER = "phone*,name,points,gender,birthday,email,tags\r\n"


def table(text, encoding="utf-8"):
    return imports.Table(text.encode(encoding) if isinstance(text, str) else text)


def problem(data):
    with pytest.raises(imports.FileProblem) as caught:
        t = imports.Table(data)
        t.count(1000)
    return caught.value


def checked(**cells):
    member, problems = imports.validate_row(2, {"phone": "0812345678", **cells}, TODAY)
    return member, {column: reason for _, column, reason in problems}


def xlsx(rows):
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_csv_with_the_template_header_gives_numbered_rows():
    t = table(HEADER + "0812345678,Somchai,100,male,1990-04-01,s@example.com,vip\r\n\r\n0899999999,,,,,,\r\n")
    assert t.format == "csv" and t.count(10) == 2
    assert [number for number, _ in t.rows()] == [2, 4]  # the blank row 3 is skipped, its number kept


def test_columns_may_come_in_any_order_and_case_and_a_bom_is_ignored():
    t = table("\ufeffName, PHONE ,Tags\r\nNok,0812345678,a|b\r\n")
    [(number, cells)] = list(t.rows())
    assert cells == {"name": "Nok", "phone": "0812345678", "tags": "a|b"}


def test_a_missing_phone_column_and_unknown_columns_are_named():
    refused = problem(b"name,telephone,points\r\nNok,0812345678,1\r\n")
    assert refused.code == "import_wrong_columns"
    assert "missing column: phone" in refused.fields["columns"]
    assert "unknown or repeated column: telephone" in refused.fields["columns"]
    assert "telephone" in refused.message


def test_a_file_that_is_not_utf8_is_refused_with_the_line():
    refused = problem((HEADER + "0812345678,สมชาย,1,,,,\r\n").encode("cp874"))
    assert refused.code == "import_not_utf8" and "line 2" in refused.message


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf", HEADER.encode()])
def test_an_empty_file_or_a_header_alone_is_empty(data):
    assert problem(data).code == "import_file_empty"


def test_more_rows_than_the_limit_is_refused():
    t = table(HEADER + "".join(f"08123456{n:02d},,,,,,\r\n" for n in range(3)))
    assert t.count(3) == 3
    with pytest.raises(imports.FileProblem) as caught:
        t.count(2)
    assert caught.value.code == "import_too_many_rows" and "2" in caught.value.message


@pytest.mark.parametrize("data", [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
                                  b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                                  b"PK\x03\x04not really a workbook"])
def test_a_file_that_is_not_a_spreadsheet_is_refused(data):
    assert problem(data).code == "import_not_a_spreadsheet"


def test_an_xlsx_is_read_with_numbers_and_dates_as_excel_keeps_them():
    data = xlsx([["phone*", "points", "birthday"], [812345678, 150.0, datetime.datetime(1990, 4, 1)]])
    t = table(data)
    [(number, cells)] = list(t.rows())
    member, problems = imports.validate_row(number, cells, TODAY)
    assert t.format == "xlsx" and problems == []
    assert (member["phone"], member["points"], member["birthday"]) == ("+66812345678", 150, datetime.date(1990, 4, 1))


def test_both_templates_read_back_with_a_valid_example_row():
    for data in (exports.template_csv(), exports.template_xlsx()):
        [(number, cells)] = list(imports.Table(data).rows())
        member, problems = imports.validate_row(number, cells, TODAY)
        assert problems == [] and member["tags"] == ["vip", "office worker"] and member["points"] == 100
    assert exports.template_csv().startswith(b"\xef\xbb\xbfphone*,name,points,gender,birthday,email,tags")


def test_a_good_row_is_normalised():
    member, problems = checked(name=" Nok ", points="1,500", gender="หญิง", birthday="31/01/2533",
                               email="nok@example.com", tags="vip| office worker ,vip")
    assert problems == {}
    assert member == {"row": 2, "phone": "+66812345678", "name": "Nok", "points": 1500, "gender": "female",
                      "birthday": datetime.date(1990, 1, 31), "email": "nok@example.com",
                      "tags": ["vip", "office worker"]}


def test_empty_optional_cells_are_none_and_no_points():
    member, problems = checked(name="", points="", gender=None)
    assert problems == {} and (member["name"], member["points"], member["gender"], member["tags"]) == (
        None, 0, None, [])


@pytest.mark.parametrize("cells, column, reason", [
    ({"phone": "12345"}, "phone", "not a valid phone number"),
    ({"phone": ""}, "phone", "phone number is required"),
    ({"points": "-5"}, "points", "whole number"),
    ({"points": "12.5"}, "points", "whole number"),
    ({"points": 12.5}, "points", "whole number"),
    ({"points": "100000001"}, "points", "at most"),
    ({"gender": "x"}, "gender", "one of female"),
    ({"birthday": "1990-02-30"}, "birthday", "not a real date"),
    ({"birthday": "April 1990"}, "birthday", "YYYY-MM-DD"),
    ({"birthday": "2030-01-01"}, "birthday", "between 1900 and today"),
    ({"email": "not-an-email"}, "email", "not an email"),
    ({"tags": "x" * 51}, "tags", "1-50 characters"),
    ({"tags": "|".join(f"t{n}" for n in range(21))}, "tags", "at most 20"),
])
def test_a_bad_cell_is_reported_with_its_column_and_reason(cells, column, reason):
    member, problems = checked(**cells)
    assert member is None and reason in problems[column]


def test_several_bad_cells_of_one_row_are_each_reported():
    member, problems = checked(phone="abc", email="x", points="-1")
    assert member is None and set(problems) == {"phone", "email", "points"}


def test_a_phone_on_two_rows_is_imported_once_and_the_second_row_reported():
    rows = imports.Rows(TODAY)
    first, _ = rows.check(2, {"phone": "081-234-5678"})
    second, problems = rows.check(5, {"phone": "+66812345678"})
    assert first is not None and second is None
    assert problems == [(5, "phone", "this phone is already on row 2")]


def test_a_rejected_row_does_not_keep_its_phone_from_a_later_row():
    rows = imports.Rows(TODAY)
    bad, _ = rows.check(2, {"phone": "0812345678", "email": "nope"})
    later, problems = rows.check(3, {"phone": "0812345678"})
    assert bad is None and later is not None and problems == []


def test_dates_accept_iso_day_month_year_and_buddhist_era():
    assert imports.parse_date("2026-01-31") == datetime.date(2026, 1, 31)
    assert imports.parse_date("31/1/2026") == datetime.date(2026, 1, 31)
    assert imports.parse_date("31.01.2569") == datetime.date(2026, 1, 31)
