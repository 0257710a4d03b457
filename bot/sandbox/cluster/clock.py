"""One clock for PIM and pimbot in a cluster: the wall clock plus an offset its driver moves.

The twins run in the driving process and call `SharedClock` directly; each pimbot process reads the
offset from a file (see `serve_clocked.py`). Moving time lets a test reach an expiry or a dead
worker's lease (two minutes) without waiting for it.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


class SharedClock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = timedelta()
        self._lock = threading.Lock()
        self._write()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta
            self._write()

    def _write(self) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(str(self._offset.total_seconds()), encoding="utf-8")
        os.replace(partial, self.path)


class FileClock:
    """The bot process's side: wall clock plus the offset last read from the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = timedelta(seconds=float(path.read_text(encoding="utf-8")))

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def reread(self) -> None:
        self.offset = timedelta(seconds=float(self.path.read_text(encoding="utf-8")))
