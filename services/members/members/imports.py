"""Member import files: reading CSV and XLSX, and validating each row. No I/O, no nameko, no SQL.

A file is the shop's spreadsheet: a header row naming the columns (any order,
any case, `phone*` or `phone`), then one member per row. Rows are numbered as a
spreadsheet shows them: the header is row 1, the first member row 2. A blank row
is skipped (its number is not reused). Cell rules are in `validate_row`; a file
that cannot be read at all is a `FileProblem` naming what is wrong.
"""
import csv
import datetime
import io
import re
import zipfile

from chassis.fields import normalise_phone

COLUMNS = ("phone", "name", "points", "gender", "birthday", "email", "tags")
REQUIRED = ("phone",)
MAX_POINTS = 100_000_000  # the points service's limit per credit
MAX_TAGS = 20
# Tags in one cell are separated by "|" (a tag may not contain a comma, so "," separates too).
TAG_SEPARATORS = re.compile(r"[|,]")
TAG = re.compile(r"^[^,\s][^,]{0,48}[^,\s]$|^[^,\s]$")  # the members.member_tags CHECK
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GENDERS = {"female": "female", "male": "male", "other": "other", "unspecified": "unspecified",
           "f": "female", "m": "male", "หญิง": "female", "ชาย": "male", "อื่น": "other", "อื่นๆ": "other",
           "ไม่ระบุ": "unspecified"}
BUDDHIST_ERA_OFFSET = 543
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and .doc): not something we read
ZIP_MAGIC = b"PK\x03\x04"
EXAMPLE_ROW = ("0812345678", "Somchai Jaidee", "100", "male", "1990-04-01", "somchai@example.com",
               "vip|office worker")


class FileProblem(Exception):
    """The file as a whole cannot be imported: `code` (stable), `message`, `fields`."""

    def __init__(self, code, message, fields=None):
        super().__init__(code, message)
        self.code, self.message, self.fields = code, message, fields or {"file": [message]}


class Table:
    """A readable import file: its format, columns and data rows (re-readable, never all in memory)."""

    def __init__(self, data):
        self.data = data
        self.format = sniff(data)
        self.text = _decode(data) if self.format == "csv" else None
        header = next(self._raw_rows(), None)
        if header is None or not any(_cell_text(cell) for cell in header):
            raise FileProblem("import_file_empty", "the file is empty: it needs a header row and member rows")
        self.columns = check_header(header)

    def rows(self):
        """(row number, {column: raw cell}) for every non-blank data row, in file order."""
        raw = self._raw_rows()
        next(raw)
        for number, cells in enumerate(raw, start=2):
            values = {column: cells[index] if index < len(cells) else None
                      for index, column in self.columns.items()}
            if any(_cell_text(value) for value in values.values()):
                yield number, values

    def count(self, limit):
        """The number of data rows; FileProblem import_too_many_rows past `limit`, import_file_empty for none."""
        total = 0
        for _ in self.rows():
            total += 1
            if total > limit:
                raise FileProblem("import_too_many_rows", f"the file has more than {limit:,} member rows",
                                  {"file": [f"at most {limit:,} rows per file"]})
        if total == 0:
            raise FileProblem("import_file_empty", "the file has a header but no member rows")
        return total

    def _raw_rows(self):
        if self.format == "csv":
            return csv.reader(io.StringIO(self.text, newline=""))
        return _xlsx_rows(self.data)


def sniff(data):
    """'csv' or 'xlsx' from the bytes themselves (the file name and content type are not trusted)."""
    if not data or not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileProblem("import_file_empty", "the file is empty: it needs a header row and member rows")
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        raise FileProblem("import_not_a_spreadsheet",
                          "this is an old Excel (.xls) or other binary file: save it as .xlsx or CSV (UTF-8)")
    if b"\x00" in data[:65536]:
        raise FileProblem("import_not_a_spreadsheet", "this is not a CSV or XLSX file (it holds binary data)")
    return "csv"


def _decode(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileProblem("import_not_utf8", f"the file is not UTF-8 text (first bad byte on line {line}): "
                          "save it as 'CSV UTF-8' or as .xlsx") from None


def _xlsx_rows(data):
    import openpyxl  # imported here: only XLSX files need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileProblem("import_not_a_spreadsheet",
                          f"this file is not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        book.close()


def check_header(header):
    """{cell index: column} from the header row; FileProblem naming missing or unknown columns."""
    found, unknown = {}, []
    for index, cell in enumerate(header):
        name = _cell_text(cell).lower().rstrip("*").strip()
        if not name:
            continue
        if name in COLUMNS and name not in found.values():
            found[index] = name
        else:
            unknown.append(_cell_text(cell))
    missing = [column for column in REQUIRED if column not in found.values()]
    fields = {}
    if missing:
        fields["columns"] = [f"missing column: {column}" for column in missing]
    if unknown:
        fields.setdefault("columns", []).extend(f"unknown or repeated column: {name}" for name in unknown)
    if fields:
        named = ", ".join(f"missing {m}" for m in missing) + (", " if missing and unknown else "") + ", ".join(
            f"unknown {u!r}" for u in unknown)
        raise FileProblem("import_wrong_columns",
                          f"the header row must name the template's columns ({', '.join(COLUMNS)}): {named}",
                          fields)
    return found


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- rows ------------------------------------------------------------------------


def validate_row(number, cells, today):
    """(member or None, [(row, column, reason)]): one row's cells checked and normalised."""
    values, problems = _values(number, cells, today)
    return (None if problems else values), problems


def _values(number, cells, today):
    values, problems = {"row": number}, []
    for column, check in CHECKS:
        try:
            values[column] = check(cells.get(column), today)
        except ValueError as exc:
            problems.append((number, column, str(exc)))
    return values, problems


def _phone(value, today):
    text = _cell_text(value)
    if not text:
        raise ValueError("phone number is required")
    return normalise_phone(text, "TH")


def _name(value, today):
    text = _cell_text(value)
    if len(text) > 200:
        raise ValueError("at most 200 characters")
    return text or None


def _points(value, today):
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number of points, 0 or more")
    text = _cell_text(value).replace(",", "").replace(" ", "")
    if not text:
        return 0
    if not text.isascii() or not text.isdigit():
        raise ValueError("must be a whole number of points, 0 or more")
    points = int(text)
    if points > MAX_POINTS:
        raise ValueError(f"at most {MAX_POINTS:,} points")
    return points


def _gender(value, today):
    text = _cell_text(value).lower()
    if not text:
        return None
    if text not in GENDERS:
        raise ValueError("must be one of female, male, other, unspecified")
    return GENDERS[text]


def _birthday(value, today):
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = _cell_text(value)
        if not text:
            return None
        day = parse_date(text)
    if day.year < 1900 or day > today:
        raise ValueError("must be a date between 1900 and today")
    return day


def parse_date(text):
    """ISO 2026-01-31, or day/month/year 31/01/2026 (also with '-' or '.', and Buddhist Era years 2569)."""
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    dmy = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif dmy:
        day, month, year = (int(part) for part in dmy.groups())
    else:
        raise ValueError("must be a date: YYYY-MM-DD or DD/MM/YYYY")
    if year > 2400:
        year -= BUDDHIST_ERA_OFFSET
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text} is not a real date") from None


def _email(value, today):
    text = _cell_text(value)
    if not text:
        return None
    if len(text) > 254 or not EMAIL.match(text):
        raise ValueError("not an email address")
    return text


def _tags(value, today):
    text = _cell_text(value)
    tags = []
    for tag in (part.strip() for part in TAG_SEPARATORS.split(text)):
        if not tag:
            continue
        if not TAG.match(tag):
            raise ValueError(f"tag {tag[:60]!r}: 1-50 characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


CHECKS = (("phone", _phone), ("name", _name), ("points", _points), ("gender", _gender),
          ("birthday", _birthday), ("email", _email), ("tags", _tags))


class Rows:
    """Validates a file's rows in order, remembering phones already seen: a phone on two rows
    is imported from the first, and the second is reported (one member per phone in a shop)."""

    def __init__(self, today):
        self.today = today
        self.seen = {}

    def check(self, number, cells):
        values, problems = _values(number, cells, self.today)
        phone = values.get("phone")
        if phone is not None and phone in self.seen:
            problems.append((number, "phone", f"this phone is already on row {self.seen[phone]}"))
        elif phone is not None and not problems:
            self.seen[phone] = number
        return (None if problems else values), problems
