"""The late policy: how many points a late submission loses.

In grading.yml (validated by ``rubric.load``)::

    late: {grace_minutes: 15, penalty_per_day: 10, max_days: 5}

- up to ``grace_minutes`` after the deadline counts as on time;
- past that, every started day (24 h, counted from the deadline) costs
  ``penalty_per_day`` points of the final grade, which never goes below 0;
- past ``max_days`` days the grade is 0.

``collect`` records how late each student's collected commit was
(``manifest.csv``, after the student's extension); ``grade-all`` applies the
policy to the total.  No policy, or no manifest: no penalty.
"""
import dataclasses
import math

DAY_MINUTES = 24 * 60


@dataclasses.dataclass(frozen=True)
class LatePolicy:
    """Validated ``late:`` settings of the rubric."""

    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    max_days: float = 0.0

    @property
    def window_minutes(self):
        """How long after the deadline work is still collected (then penalised): ``max_days`` days."""
        return self.max_days * DAY_MINUTES

    def days_late(self, minutes_late):
        """Started days late, 0 within the grace period."""
        if minutes_late is None or minutes_late <= self.grace_minutes:
            return 0
        return math.ceil(minutes_late / DAY_MINUTES)

    def penalty(self, total, minutes_late):
        """Points taken from ``total`` for a submission ``minutes_late`` minutes after its deadline."""
        days = self.days_late(minutes_late)
        if days == 0:
            return 0
        if days > self.max_days:
            return total
        return min(total, self.penalty_per_day * days)

    def describe(self, minutes_late):
        """'on time', 'in the grace period', '2 days late: -20', 'more than 5 days late: 0'."""
        if minutes_late is None or minutes_late <= 0:
            return "on time"
        days = self.days_late(minutes_late)
        if days == 0:
            return f"{minutes_late:.0f} min late, within the {self.grace_minutes:g}-minute grace period"
        if days > self.max_days:
            return f"more than {self.max_days:g} days late: 0"
        return f"{days} day{'s' if days > 1 else ''} late: -{self.penalty_per_day * days:g}"


def parse(raw, where):
    """A LatePolicy from the rubric's ``late:`` mapping, or None; raises ValueError naming the key."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: late must be a mapping with grace_minutes, penalty_per_day, max_days")
    fields = {f.name for f in dataclasses.fields(LatePolicy)}
    extra = sorted(set(raw) - fields)
    if extra:
        raise ValueError(f"{where}: late: unknown key {', '.join(map(repr, extra))} "
                         f"(allowed: {', '.join(sorted(fields))})")
    missing = sorted(fields - set(raw))
    if missing:
        raise ValueError(f"{where}: late: missing {', '.join(missing)}")
    for key, value in raw.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{where}: late.{key} must be a number >= 0, got {value!r}")
    return LatePolicy(**{k: float(v) for k, v in raw.items()})
