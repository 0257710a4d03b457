"""The trust tests run pimbot on its sandbox like the end-to-end tests do."""

from tests.e2e.conftest import sandboxed

__all__ = ["sandboxed"]
