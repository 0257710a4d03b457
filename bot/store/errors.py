"""Errors the store raises on purpose (driver errors propagate as SQLAlchemy exceptions)."""

from __future__ import annotations


class StoreError(Exception):
    pass


class RequestNotFound(StoreError, LookupError):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"no request with id {request_id!r}")
        self.request_id = request_id
