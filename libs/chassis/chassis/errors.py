"""The error model every service speaks, over RPC and over HTTP.

An error has a kind (the class: what HTTP status it maps to), a stable `code`
(what a client program branches on), a human `message`, and `fields`
(field name -> list of reasons) for input errors. Services raise these kinds
with their own codes; nameko carries them across RPC as the same class because
each kind is registered as deserializable, so the gateway maps them to HTTP in
one table without knowing each service's codes.
"""
from marshmallow import ValidationError
from nameko.exceptions import deserialize_to_instance


class ServiceError(Exception):
    status = 500
    default_code = "internal_error"

    def __init__(self, code=None, message="", fields=None):
        self.code = code or self.default_code
        self.message = message or self.code.replace("_", " ")
        self.fields = fields or {}
        super().__init__(self.code, self.message, self.fields)

    def __str__(self):
        return f"{self.code}: {self.message}"

    def to_dict(self):
        return {"code": self.code, "message": self.message, "fields": self.fields}


@deserialize_to_instance
class BadRequest(ServiceError):
    status = 400
    default_code = "bad_request"


@deserialize_to_instance
class Unauthorized(ServiceError):
    status = 401
    default_code = "unauthorized"


@deserialize_to_instance
class Forbidden(ServiceError):
    status = 403
    default_code = "forbidden"


@deserialize_to_instance
class NotFound(ServiceError):
    status = 404
    default_code = "not_found"


@deserialize_to_instance
class Conflict(ServiceError):
    status = 409
    default_code = "conflict"


@deserialize_to_instance
class InvalidInput(ServiceError):
    status = 422
    default_code = "invalid_input"


@deserialize_to_instance
class Unavailable(ServiceError):
    status = 503
    default_code = "service_unavailable"


# What an @rpc entrypoint declares as expected: these are the caller's fault or
# a business refusal, not a crash of the service.
EXPECTED = (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, InvalidInput)


def invalid(validation_error, message="request is invalid"):
    """Turn a marshmallow ValidationError into InvalidInput naming each field."""
    return InvalidInput("invalid_input", message, flatten(validation_error.messages))


def flatten(messages, prefix=""):
    """{'a': {'b': ['x']}} -> {'a.b': ['x']}; list positions become indexes."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)) and not _is_reason_list(value):
                flat.update(flatten(value, name))
            else:
                flat[name] = value if isinstance(value, list) else [value]
    elif isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _is_reason_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def load(schema, payload, message="request is invalid"):
    """schema.load(payload) that raises InvalidInput instead of ValidationError."""
    if not isinstance(payload, dict):
        raise InvalidInput("invalid_input", message, {"_schema": ["must be a JSON object"]})
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise invalid(exc, message) from None
