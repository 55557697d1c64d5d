"""What a validation found: problems (with row, field and value), gaps, and the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

__all__ = [
    "DataValidationError",
    "Gap",
    "GapPolicy",
    "Problem",
    "ProblemKind",
    "Severity",
    "ValidationReport",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ProblemKind(StrEnum):
    MISSING_COLUMN = "missing_column"
    BAD_DTYPE = "bad_dtype"
    BAD_INDEX = "bad_index"
    NOT_FINITE = "not_finite"
    UNSORTED = "unsorted"
    DUPLICATE_TIME = "duplicate_time"
    HIGH_BELOW_OPEN_CLOSE = "high_below_open_close"
    LOW_ABOVE_OPEN_CLOSE = "low_above_open_close"
    NON_POSITIVE_PRICE = "non_positive_price"
    NEGATIVE_VOLUME = "negative_volume"
    NON_POSITIVE_AMOUNT = "non_positive_amount"
    BAD_SIDE = "bad_side"
    DUPLICATE_TRADE_ID = "duplicate_trade_id"
    CROSSED_QUOTE = "crossed_quote"
    NEGATIVE_SIZE = "negative_size"
    GAP = "gap"


class GapPolicy(StrEnum):
    """What a gap in a bar series is: a warning (default), an error, or only recorded."""

    WARN = "warn"
    ERROR = "error"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one row (or with the whole frame when ``row`` is None)."""

    kind: ProblemKind
    severity: Severity
    row: int | None
    field: str | None
    value: object
    expected: str
    time: pd.Timestamp | None = None

    def describe(self, source: str, line_offset: int | None = None) -> str:
        where = [source]
        if self.row is not None:
            where.append(f"row {self.row}")
            if line_offset is not None:
                where.append(f"(line {self.row + line_offset})")
        if self.time is not None:
            where.append(f"at {self.time.isoformat()}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{' '.join(where)}: {self.kind.value}: value {self.value!r}, expected {self.expected}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars between two present ones: ``[start, end)`` where ``end`` is present."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing_bars: int


@dataclass(frozen=True)
class ValidationReport:
    """Everything one validation found. ``ok`` means no errors (warnings allowed)."""

    source: str
    kind: str
    rows: int
    problems: tuple[Problem, ...] = ()
    gaps: tuple[Gap, ...] = ()
    timeframe: pd.Timedelta | None = None
    line_offset: int | None = None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def kind_counts(self) -> Counter[str]:
        return Counter(p.kind.value for p in self.problems)

    def messages(self, limit: int | None = None) -> list[str]:
        chosen = self.problems if limit is None else self.problems[:limit]
        return [p.describe(self.source, self.line_offset) for p in chosen]

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise DataValidationError(self)


class DataValidationError(ValueError):
    """Raised when data has errors; ``report`` holds every problem found."""

    SHOWN = 20

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        errors = report.errors
        lines = [p.describe(report.source, report.line_offset) for p in errors[: self.SHOWN]]
        more = len(errors) - len(lines)
        tail = f"\n  … and {more} more (see .report)" if more > 0 else ""
        counts = ", ".join(f"{k}={v}" for k, v in sorted(Counter(p.kind.value for p in errors).items()))
        super().__init__(
            f"{report.source}: {len(errors)} {report.kind} error(s) ({counts}):\n  " + "\n  ".join(lines) + tail
        )
