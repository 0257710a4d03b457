"""What `pimbot doctor` found: one finding per check, in words a person acts on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but not as it should be; does not fail the run
    FAIL = "fail"
    SKIP = "skip"  # could not be checked here (and says why)


@dataclass(frozen=True)
class Finding:
    check: str  # the check's name, as docs/doctor.md lists it
    status: Status
    message: str  # what was found
    fix: str = ""  # what to do about it (empty when nothing needs doing)


def ok(check: str, message: str) -> Finding:
    return Finding(check, Status.OK, message)


def fail(check: str, message: str, fix: str) -> Finding:
    return Finding(check, Status.FAIL, message, fix)


def warn(check: str, message: str, fix: str) -> Finding:
    return Finding(check, Status.WARN, message, fix)


def skip(check: str, message: str, fix: str = "") -> Finding:
    return Finding(check, Status.SKIP, message, fix)


MARKS = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def render(findings: Iterable[Finding]) -> str:
    """One block per finding: `[FAIL] check: message`, then `  fix: …`."""
    lines: list[str] = []
    for finding in findings:
        lines.append(f"[{MARKS[finding.status]}] {finding.check}: {finding.message}")
        if finding.fix:
            lines.append(f"       fix: {finding.fix}")
    return "\n".join(lines)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any check failed, else 0."""
    return 1 if any(f.status is Status.FAIL for f in findings) else 0
