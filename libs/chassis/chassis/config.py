"""Configuration: one YAML file per service, `${ENV_VAR:default}` for every setting.

The same loader nameko uses for `nameko run --config`, so that the relay, the
migration command and the CLIs read exactly what the service reads.
"""
import yaml
from nameko.cli.main import setup_yaml_parser

_parser_ready = False


def load(path):
    global _parser_ready
    if not _parser_ready:
        setup_yaml_parser()
        _parser_ready = True
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def db_settings(config):
    """The `DB` section, with defaults."""
    section = dict(config.get("DB") or {})
    if not section.get("DSN"):
        raise KeyError("config has no DB.DSN")
    section.setdefault("POOL_MIN", 2)
    section.setdefault("POOL_MAX", 10)
    section.setdefault("POOL_TIMEOUT", 5.0)
    return section
