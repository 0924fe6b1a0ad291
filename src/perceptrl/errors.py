"""The one exception type for errors a user can cause (bad data, bad config, unreachable judge).

Every message says *what* went wrong, *where* (file, row id, field, config key) and *how to fix it*,
so that the CLI can print it without a traceback.
"""

from __future__ import annotations


class PerceptrlError(Exception):
    """A user-facing error: what happened, where, and the fix."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"  where: {self.where}")
        if self.fix:
            parts.append(f"  fix:   {self.fix}")
        return "\n".join(parts)
