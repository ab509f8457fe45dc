"""Requests, answers and event payloads of member import and export (marshmallow)."""
import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate

ACTOR_TYPES = ("staff", "admin", "system", "internal_system")
MAX_PART_BYTES = 8 * 1024 * 1024  # one uploaded part, before base64
EXPORT_PAGE = 5000


class Actor(Schema):
    type = fields.String(required=True, validate=validate.OneOf(ACTOR_TYPES))
    id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class Base64Bytes(fields.String):
    """Bytes on the wire as base64 text."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("not base64") from None
        if len(raw) > MAX_PART_BYTES:
            raise ValidationError(f"at most {MAX_PART_BYTES} bytes per part")
        return raw


class PutImportPart(Schema):
    shop_id = fields.UUID(required=True)
    upload_id = fields.UUID(required=True)
    part = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=9999))
    data = Base64Bytes(required=True)


class StartImport(Schema):
    shop_id = fields.UUID(required=True)
    upload_id = fields.UUID(required=True)
    parts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10000))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="not a SHA-256 (hex)"))
    branch_id = fields.UUID(required=True)
    filename = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    actor = fields.Nested(Actor, required=True)


class ImportRef(Schema):
    shop_id = fields.UUID(required=True)
    import_id = fields.UUID(required=True)
    errors_after_row = fields.Integer(load_default=0, validate=validate.Range(min=0))
    errors_limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000))


class ListImports(Schema):
    shop_id = fields.UUID(required=True)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class Template(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class ExportPage(Schema):
    shop_id = fields.UUID(required=True)
    after = fields.UUID(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=EXPORT_PAGE, validate=validate.Range(min=1, max=EXPORT_PAGE))


class TierHistoryPage(Schema):
    shop_id = fields.UUID(required=True)
    after = fields.Integer(load_default=0, allow_none=True, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=EXPORT_PAGE, validate=validate.Range(min=1, max=EXPORT_PAGE))


class AsOf(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


# --- answers ---------------------------------------------------------------------

class RowError(Schema):
    row = fields.Integer(attribute="row_no")
    column = fields.String(attribute="column_name")
    reason = fields.String()


class Import(Schema):
    import_id = fields.UUID()
    shop_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    filename = fields.String(allow_none=True)
    file_sha256 = fields.String()
    format = fields.String()
    status = fields.String()
    total = fields.Integer()
    processed = fields.Integer()
    imported = fields.Integer()
    rejected = fields.Integer()
    points_credited = fields.Integer()
    failure = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


class ImportReport(Import):
    replayed = fields.Boolean()
    errors = fields.List(fields.Nested(RowError))
    errors_total = fields.Integer()
    errors_next_after_row = fields.Integer(allow_none=True)


class ImportList(Schema):
    imports = fields.List(fields.Nested(Import))


class ExportedMember(Schema):
    member_id = fields.UUID()
    phone = fields.String()
    name = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    email = fields.String(allow_none=True)
    status = fields.String()
    tier = fields.String(allow_none=True)
    points_balance = fields.Integer()
    lifetime_points = fields.Integer()
    tags = fields.List(fields.String())


class MembersPage(Schema):
    members = fields.List(fields.Nested(ExportedMember))
    next_after = fields.UUID(allow_none=True)


class TierDecision(Schema):
    decision_id = fields.Integer()
    phone = fields.String()
    decided_at = fields.AwareDateTime()
    reason = fields.String()
    from_tier = fields.String(allow_none=True)
    to_tier = fields.String(allow_none=True)
    window_points = fields.Integer()
    window_start = fields.Date()
    window_end = fields.Date()
    settings_version = fields.Integer()


class TierHistoryPageResult(Schema):
    decisions = fields.List(fields.Nested(TierDecision))
    next_after = fields.Integer(allow_none=True)


# --- events ----------------------------------------------------------------------

class ImportedMember(Schema):
    member_id = fields.UUID()
    phone = fields.String()
    row = fields.Integer()
    status = fields.String()
    created = fields.Boolean()
    points = fields.Integer()
    tags = fields.List(fields.String())


class MembersImported(Schema):
    """members.imported v1: one chunk of an import's rows written (up to 1,000 members)."""

    import_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    members = fields.List(fields.Nested(ImportedMember))


class ImportStarted(Schema):
    """members.import_started v1: a file was accepted (or a failed import's file came again)."""

    import_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    filename = fields.String(allow_none=True)
    file_sha256 = fields.String()
    format = fields.String()
    status = fields.String()
    total = fields.Integer()
    actor = fields.Dict()


class ImportFinished(Schema):
    """members.import_finished v1: an import is done (or failed), with its totals."""

    import_id = fields.UUID()
    branch_id = fields.UUID(allow_none=True)
    filename = fields.String(allow_none=True)
    file_sha256 = fields.String()
    status = fields.String()
    total = fields.Integer()
    imported = fields.Integer()
    rejected = fields.Integer()
    points_credited = fields.Integer()
    failure = fields.String(allow_none=True)


PUT_IMPORT_PART = PutImportPart()
START_IMPORT = StartImport()
IMPORT_REF = ImportRef()
IMPORT_REPORT = ImportReport()
MEMBERS_IMPORTED = MembersImported()
IMPORT_STARTED = ImportStarted()
IMPORT_FINISHED = ImportFinished()
EXPORTED_MEMBER = ExportedMember()
