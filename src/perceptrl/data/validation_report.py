"""The result of :func:`perceptrl.data.validate.validate_examples`: one :class:`Issue` per problem
in a row (file, row, field, code, reason, fix) and the :class:`ValidationReport` that collects them."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from perceptrl.errors import PerceptrlError

#: issue codes ``perceptrl data validate --fix`` repairs
FIXABLE = {"pixels_out_of_bounds", "image_mode", "exif_rotated", "binary_text"}


@dataclass
class Issue:
    """One problem in one row. ``severity`` "error" blocks training; "warning" is handled."""

    row: int
    id: str
    field: str
    code: str
    reason: str
    fix: str
    severity: str = "error"

    @property
    def fixable(self) -> bool:
        return self.code in FIXABLE


@dataclass
class ValidationReport:
    source: str
    n_rows: int
    issues: list[Issue] = field(default_factory=list)
    prompt_lengths: dict[int, int] = field(default_factory=dict)  # row -> prompt tokens (with a processor)
    path: str | None = None  # the file/folder the rows came from, when ``source`` is a label (a benchmark name)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def bad_rows(self) -> list[int]:
        """Rows with at least one error, in order."""
        return sorted({i.row for i in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        s = f"{self.source}: {self.n_rows} rows, {len(self.bad_rows)} bad ({len(self.errors)} errors), {len(self.warnings)} warnings"
        if self.prompt_lengths:
            s += f"; longest prompt {max(self.prompt_lengths.values())} tokens"
        return s

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_rows": self.n_rows,
            "bad_rows": self.bad_rows,
            "issues": [{**asdict(i), "fixable": i.fixable} for i in self.issues],
        }

    def to_error(self) -> PerceptrlError:
        lines = [f"{self.source} row {i.row} (id {i.id!r}) {i.field}: [{i.code}] {i.reason} -> fix: {i.fix}" for i in self.errors]
        return PerceptrlError(
            f"{len(self.bad_rows)} of {self.n_rows} rows of {self.source} are invalid ({len(self.errors)} problems)",
            where="\n    " + "\n    ".join(lines),
            fix=f"correct or drop those rows; `perceptrl data validate {shlex.quote(self.path or self.source)} --fix --out FIXED` "
            "repairs image sizes/modes/orientation",
        )
