"""The longest gap between two runs of a Velero schedule, in minutes.

Velero parses `Schedule.spec.schedule` with robfig/cron: five standard fields
(minute hour day-of-month month day-of-week, in UTC) or a descriptor such as `@hourly`,
`@daily` or `@every 30m`. The longest gap is what bounds the recovery point of a backup.
Pure Python and dependency-free, below both of its users: the config checks
(components/config/checks/dr.py) import it here, and the policy pack, which runs with only
policies/ importable, gets a generated copy (policies/rules/cron.py, python -m
policies.gen_catalog) that a test keeps identical.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY_RE = re.compile(r"^@every\s+((?:[0-9]+(?:h|m|s))+)$")
_EVERY_PART_RE = re.compile(r"([0-9]+)(h|m|s)")
# (lowest, highest) of each field; day-of-week 7 is Sunday too.
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
# Long enough to see every day-of-week/day-of-month combination recur.
_WINDOW_DAYS = 366 * 2
_START = datetime(2026, 1, 1)


class CronError(ValueError):
    """The expression is not a schedule Velero accepts."""


def _field(text: str, low: int, high: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"bad step {step_text!r}")
            step = int(step_text)
        if part in ("*", "?"):
            start, stop = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            if not (a.isdigit() and b.isdigit()):
                raise CronError(f"bad range {part!r}")
            start, stop = int(a), int(b)
        elif part.isdigit():
            start = int(part)
            stop = high if step > 1 else start
        else:
            raise CronError(f"bad value {part!r}")
        if not (low <= start <= stop <= high):
            raise CronError(f"{part!r} is outside {low}-{high}")
        out.update(range(start, stop + 1, step))
    return out


def max_interval_minutes(expression: str) -> float:
    """The longest gap between consecutive runs, in minutes. Raises CronError."""
    expr = " ".join(expression.split())
    every = _EVERY_RE.match(expr)
    if every:
        seconds = sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in _EVERY_PART_RE.findall(every.group(1)))
        if seconds <= 0:
            raise CronError("@every needs a positive duration")
        return seconds / 60
    expr = _DESCRIPTORS.get(expr, expr)
    fields = expr.split(" ")
    if len(fields) != 5:
        raise CronError("expected five fields (minute hour day-of-month month day-of-week) or a descriptor")
    minutes, hours, doms, months, dows = (_field(f, lo, hi) for f, (lo, hi) in zip(fields, _RANGES, strict=True))
    dows = {d % 7 for d in dows}
    # Standard cron: with both day fields restricted, a day matches either of them.
    dom_any, dow_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    runs: list[datetime] = []
    # Only the day of the week restricts the days: two weeks show every gap.
    window = 15 if fields[2] in ("*", "?") and fields[3] in ("*", "?") else _WINDOW_DAYS
    for offset in range(window):
        day = _START + timedelta(days=offset)
        if day.month not in months:
            continue
        dom_ok, dow_ok = day.day in doms, (day.isoweekday() % 7) in dows
        if dom_any or dow_any:
            matches = dom_ok and dow_ok
        else:
            matches = dom_ok or dow_ok
        if not matches:
            continue
        for h in sorted(hours):
            for m in sorted(minutes):
                runs.append(day.replace(hour=h, minute=m))
    if len(runs) < 2:
        raise CronError("runs less than twice in two years")
    return max((b - a).total_seconds() / 60 for a, b in zip(runs, runs[1:], strict=False))
