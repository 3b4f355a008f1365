"""What counts as a development detail in anything a user reads: shared by the report-words tests."""

from __future__ import annotations

import re

#: an absolute path of a POSIX machine, a relative path upwards, our own folders, Python internals
DEVELOPMENT = [
    re.compile(r"(?<![\w.:/])/(?:work|home|root|tmp|usr|opt|var|srv|mnt|etc)/"),
    re.compile(r"\.\./"),
    re.compile(r"\bshared/"),
    re.compile(r"\w\.csv\b"),
    re.compile(r"site-packages|dist-packages|\.venv\b"),
    re.compile(r"Traceback|File \"[^\"]+\", line \d+"),
    re.compile(r"\w\.py\b"),
    re.compile(r"model\.(?:xml|bin|json)\b"),
]


def development_details(text: str) -> list[str]:
    """Every match of a development pattern in ``text`` (empty when it reads clean)."""
    return [m.group(0) for pattern in DEVELOPMENT for m in pattern.finditer(text)]
