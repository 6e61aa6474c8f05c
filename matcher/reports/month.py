"""A report month (``YYYY-MM``): its first and last day and its neighbours."""

import datetime as dt
import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        match = _PATTERN.match((text or "").strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"月份 {text!r} 写法不对：请写成 YYYY-MM（年-月），如 2026-11")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def end(self) -> dt.date:
        """The first day after the month (history "as of" the report counts events before it)."""
        return self.next().first_day

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def back(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)
