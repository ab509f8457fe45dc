"""HTTP query strings and responses of member import and export (marshmallow)."""
from marshmallow import Schema, fields, validate

FILE_FORMATS = ("csv", "xlsx")


class FormatQuery(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(FILE_FORMATS))


class UploadQuery(Schema):
    branch_id = fields.UUID(load_default=None, metadata={
        "description": "the branch the points are credited at (a branch's staff: their own branch)"})
    filename = fields.String(load_default=None, validate=validate.Length(max=255), metadata={
        "description": "the file's name, for the report (a multipart upload carries its own)"})


class ImportQuery(Schema):
    errors_after_row = fields.Integer(load_default=0, validate=validate.Range(min=0),
                                      metadata={"description": "page the rejected rows: rows after this one"})
    errors_limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000))


class ImportListQuery(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ImportRowError(Schema):
    row = fields.Integer(metadata={"description": "row number as the spreadsheet shows it (the header is row 1)"})
    column = fields.String()
    reason = fields.String()


class Import(Schema):
    import_id = fields.String()
    branch_id = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    file_sha256 = fields.String(metadata={"description": "the file's identity: the same file again is this import"})
    format = fields.String()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    total = fields.Integer(metadata={"description": "member rows in the file"})
    processed = fields.Integer()
    imported = fields.Integer()
    rejected = fields.Integer()
    points_credited = fields.Integer()
    failure = fields.String(allow_none=True)
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class ImportReport(Import):
    replayed = fields.Boolean(metadata={"description": "this file was uploaded before: its import, unchanged"})
    errors = fields.List(fields.Nested(ImportRowError))
    errors_total = fields.Integer()
    errors_next_after_row = fields.Integer(allow_none=True)


class ImportList(Schema):
    imports = fields.List(fields.Nested(Import))
