"""Dependency providers of the points service (the only code that reads its config)."""
from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider

MIN_SECRET_LENGTH = 16


class QrSecret(DependencyProvider):
    """The secret that signs QR tokens. A service without one does not start."""

    def setup(self):
        secret = self.container.config.get("QR_SECRET") or ""
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(f"QR_SECRET must be set, at least {MIN_SECRET_LENGTH} characters")
        self.secret = secret

    def get_dependency(self, worker_ctx):
        return self.secret
