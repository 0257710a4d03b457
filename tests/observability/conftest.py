"""The running sandbox of the end-to-end tests, for the operator's endpoints."""

from tests.e2e.conftest import sandboxed

__all__ = ["sandboxed"]
