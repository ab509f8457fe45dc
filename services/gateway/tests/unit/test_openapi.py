import inspect

from nameko.web.handlers import HttpRequestHandler

from gateway import openapi
from gateway.endpoints import ROUTES
from gateway.service import GatewayService


def http_routes():
    found = set()
    for _, method in inspect.getmembers(GatewayService, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                found.add((entrypoint.method, entrypoint.url.replace("<", "{").replace(">", "}")))
    return found


def test_every_endpoint_is_in_the_document():
    document = openapi.build(ROUTES)
    documented = {(verb.upper(), path) for path, ops in document["paths"].items() for verb in ops}
    undocumented = http_routes() - documented - {("GET", "/openapi.json"), ("GET", "/metrics")}
    assert not undocumented


def test_the_document_describes_bodies_errors_and_idempotency():
    document = openapi.build(ROUTES)
    assert document["openapi"] == "3.1.0"
    sale = document["paths"]["/shops/{shop_id}/sales"]["post"]
    ref = sale["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in sale["parameters"])
    assert set(sale["responses"]) >= {"201", "400", "401", "403", "404", "409", "422", "503"}
    schemas = document["components"]["schemas"]
    body = schemas[ref.rsplit("/", 1)[1]]
    assert body["properties"]["amount"] == {"type": "string", "format": "decimal",
                                            "description": "spend in baht, at most 2 decimals", "example": "125.50"}
    assert "phone" in body["required"] and "amount" in body["required"]
