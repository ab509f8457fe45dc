"""The OpenAPI 3.1 document, generated from the route table and its marshmallow schemas."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from chassis.fields import Money
from gateway import contracts

STATUS_TEXT = {400: "Malformed request", 401: "No valid API key", 403: "Not allowed for this key",
               404: "Unknown shop, branch or member", 409: "Conflicts with an earlier request",
               422: "Invalid input: see error.fields", 503: "A service or the broker is unavailable; retry"}


def build(routes, title="Loyalty platform API", version="1.0.0"):
    plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[plugin],
                   info={"description": "Points, members and shops for LINE shops. Every error has the "
                                        "body {\"error\": {\"code\", \"message\", \"fields\"}}."})
    plugin.map_to_openapi_type(Money, "string", "decimal")
    spec.components.security_scheme("ApiKey", {"type": "http", "scheme": "bearer",
                                               "description": "an API key: Authorization: Bearer lk_..."})
    spec.components.schema("Error", schema=contracts.ErrorBody)
    for route in routes:
        spec.path(path=route.path, operations={route.method.lower(): _operation(route)})
    return spec.to_dict()


def _path_schema(route, name):
    kind = route.path_type(name)
    if kind is int:
        return {"type": "integer"}
    if kind is str:
        return {"type": "string"}
    return {"type": "string", "format": "uuid"}


def _operation(route):
    operation = {
        "operationId": route.name,
        "summary": route.summary,
        "description": route.description,
        "tags": [route.tag],
        "parameters": [{"name": p, "in": "path", "required": True, "schema": _path_schema(route, p)}
                       for p in route.path_params],
        "responses": {str(route.status): {"description": "OK"}},
    }
    if route.query is not None:
        operation["parameters"].append({"in": "query", "schema": route.query})
    if route.roles is not None:
        operation["security"] = [{"ApiKey": []}]
        operation["description"] += f"\n\nAllowed roles: {', '.join(route.roles)}."
    if route.idempotent:
        operation["parameters"].append({
            "name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string", "maxLength": 200},
            "description": "a replay with the same key and body returns the first result "
                           "(header Idempotent-Replayed: true); another body with the key is a 409"})
    if route.request is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": route.request}}}
    if route.response is not None:
        operation["responses"][str(route.status)]["content"] = {"application/json": {"schema": route.response}}
    elif route.produces != "application/json":
        operation["responses"][str(route.status)]["content"] = {
            route.produces: {"schema": {"type": "string", "contentMediaType": route.produces}}}
    codes = [400, 401, 403, 404, 409, 422, 503] if route.roles is not None else [503]
    for code in codes:
        operation["responses"][str(code)] = {
            "description": STATUS_TEXT[code], "content": {"application/json": {"schema": "Error"}}}
    return operation
