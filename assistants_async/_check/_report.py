"""The report: a table for people, JSON for machines (``report.schema.json``)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from ._core import Result

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
VERDICTS = ("pass", "deviates", "fails", "skipped")


# What a terminal must not be sent from a server's text: C0 and C1 controls, DEL.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``)."""
    return _CONTROLS.sub(lambda m: repr(m.group())[1:-1], text)


@attrs.frozen
class Report:
    base_url: str
    model: str
    version: str
    started_at: str
    seconds: float
    results: list[Result]
    cleanup: dict[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        counted: Counter[str] = Counter(result.verdict for result in self.results)
        return {verdict: counted[verdict] for verdict in VERDICTS}

    @property
    def exit_status(self) -> int:
        """0 when nothing deviates or fails (a skipped check is said, not failed)."""
        counts = self.counts
        return 1 if counts["deviates"] or counts["fails"] else 0

    def summary(self) -> str:
        counts = self.counts
        said = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
        checks = "check" if len(self.results) == 1 else "checks"
        return f"{len(self.results)} {checks} in {self.seconds:.1f} s: {said}"

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "assistants-async check",
            "version": self.version,
            "base_url": self.base_url,
            "model": self.model,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "summary": self.counts,
            "exit_status": self.exit_status,
            "checks": [result.to_json() for result in self.results],
            "cleanup": self.cleanup,
        }

    def table(self, width: int | None = None) -> str:
        """One row per check: id, verdict, one line of why."""
        if width is None:
            width = max(shutil.get_terminal_size((100, 24)).columns, 60)
        first = max([len("check"), *(len(r.id) for r in self.results)])
        second = len("deviates")
        room = max(width - first - second - 4, 20)
        lines = [
            f"{'check':<{first}}  {'verdict':<{second}}  why",
            f"{'-' * first}  {'-' * second}  {'-' * min(room, 40)}",
        ]
        for result in self.results:
            why = printable(" ".join(result.why.split()))
            if len(why) > room:
                why = why[: room - 3] + "..."
            lines.append(f"{result.id:<{first}}  {result.verdict:<{second}}  {why}")
        lines.append("")
        lines.append(self.summary())
        return "\n".join(lines)
