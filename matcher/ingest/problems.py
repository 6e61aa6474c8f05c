"""What went wrong in an import, and where: file, sheet, row, column, value, reason."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    path: Path
    row: int | None = None
    column: str | None = None
    value: object = None
    reason: str = ""
    sheet: str | None = None

    def where(self) -> str:
        """文件 x.xlsx，工作表「汇总」，第 5 行，「联系电话」列 — in the words a clerk reads."""
        parts = [str(self.path)]
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"「{self.column}」列")
        return "，".join(parts)

    def __str__(self) -> str:
        value = "" if self.value in (None, "") else f"（值「{self.value}」）"
        return f"{self.where()}：{self.reason}{value}"

    def as_dict(self) -> dict:
        return {"file": str(self.path), "sheet": self.sheet, "row": self.row, "column": self.column,
                "value": None if self.value is None else str(self.value), "reason": self.reason}


class ImportFailed(Exception):
    """Raised with every problem found; nothing has been written when it is raised."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
