"""Finding: one diagnosis in plain words with its remedy, shared by the monitor and the doctor."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """A diagnosis: ``kind`` names it for code ('vanishing_gradients', 'overfitting', 'healthy'
    ...), ``message`` says what was seen with the numbers, ``remedy`` the concrete next step."""

    kind: str
    message: str
    remedy: str = ""

    @property
    def healthy(self) -> bool:
        return self.kind == "healthy"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(str(data["kind"]), str(data["message"]), str(data.get("remedy", "")))

    def __str__(self) -> str:
        return f"{self.message} {self.remedy}".strip()


def format_findings(findings: Iterable[Finding], title: str, width: int = 100) -> str:
    """Findings as indented lines under a title: ``title: message → remedy``."""
    findings = list(findings)
    if not findings:
        return ""
    lines = [f"{title}:"]
    for finding in findings:
        text = finding.message + (f" Next: {finding.remedy}" if finding.remedy else "")
        lines.append(textwrap.fill(text, width, initial_indent="  - ", subsequent_indent="    "))
    return "\n".join(lines)
