"""The late policy (autograder/semester/late.py) as pure functions: days, penalties, words, parsing."""
import pytest

from autograder.semester import late

POLICY = late.LatePolicy(grace_minutes=15, penalty_per_day=10, max_days=5)
DAY = late.DAY_MINUTES


def test_a_day_is_24_hours_and_the_window_is_max_days():
    assert DAY == 1440
    assert POLICY.window_minutes == 5 * 1440
    assert late.LatePolicy().window_minutes == 0


@pytest.mark.parametrize("minutes, days", [
    (None, 0), (-30, 0), (0, 0), (15, 0),      # on time, early, and the grace period (inclusive)
    (15.01, 1), (DAY, 1),                      # the first day is counted from the deadline, not the grace end
    (DAY + 0.5, 2), (2 * DAY, 2), (10 * DAY + 1, 11),
])
def test_days_late_counts_started_days(minutes, days):
    assert POLICY.days_late(minutes) == days


def test_no_grace_period_means_one_minute_is_a_day():
    strict = late.LatePolicy(grace_minutes=0, penalty_per_day=7.5, max_days=2)
    assert strict.days_late(0) == 0 and strict.days_late(0.1) == 1
    assert strict.penalty(100, 1) == 7.5 and strict.penalty(100, DAY + 1) == 15.0
    assert strict.penalty(100, 2 * DAY + 1) == 100, "past max_days: the whole grade"


@pytest.mark.parametrize("total, minutes, penalty", [
    (106, 3 * DAY, 30),        # written points included: the penalty is of the final grade
    (0, 3 * DAY, 0),           # nothing to take
    (12.5, DAY, 10),
    (5, 4 * DAY, 5),           # never more than the grade
    (100, 5 * DAY, 50),        # the last day of the window still counts per day
    (100, 5 * DAY + 0.01, 100),
])
def test_penalty_is_per_started_day_and_never_more_than_the_grade(total, minutes, penalty):
    assert POLICY.penalty(total, minutes) == penalty


@pytest.mark.parametrize("minutes, words", [
    (None, "on time"), (-5, "on time"), (0, "on time"),
    (9.6, "10 min late, within the 15-minute grace period"),
    (16, "1 day late: -10"),
    (3 * DAY, "3 days late: -30"),
    (5 * DAY + 1, "more than 5 days late: 0"),
])
def test_describe_says_what_the_penalty_is(minutes, words):
    assert POLICY.describe(minutes) == words


def test_describe_shows_fractional_settings_without_trailing_zeros():
    odd = late.LatePolicy(grace_minutes=7.5, penalty_per_day=2.5, max_days=1.5)
    assert odd.describe(5) == "5 min late, within the 7.5-minute grace period"
    assert odd.describe(DAY) == "1 day late: -2.5"
    assert odd.describe(2 * DAY) == "more than 1.5 days late: 0"


def test_parse_gives_floats_or_none():
    assert late.parse(None, "g.yml") is None
    policy = late.parse({"grace_minutes": 15, "penalty_per_day": 10, "max_days": 5}, "g.yml")
    assert policy == POLICY and all(isinstance(v, float) for v in
                                    (policy.grace_minutes, policy.penalty_per_day, policy.max_days))
    assert late.parse({"grace_minutes": 0, "penalty_per_day": 0, "max_days": 0}, "g.yml") == late.LatePolicy()


@pytest.mark.parametrize("raw, message", [
    ([15, 10, 5], "g.yml: late must be a mapping"),
    ({"grace_minutes": 1, "penalty_per_day": 1, "max_days": 1, "cap": 3}, "g.yml: late: unknown key 'cap'"),
    ({"grace_minutes": 1}, "g.yml: late: missing max_days, penalty_per_day"),
    ({"grace_minutes": True, "penalty_per_day": 1, "max_days": 1}, "late.grace_minutes must be a number >= 0, got True"),
    ({"grace_minutes": 1, "penalty_per_day": "10%", "max_days": 1}, "late.penalty_per_day must be a number >= 0"),
    ({"grace_minutes": 1, "penalty_per_day": 1, "max_days": -1}, "late.max_days must be a number >= 0, got -1"),
])
def test_parse_names_the_key_that_is_wrong(raw, message):
    with pytest.raises(ValueError) as err:
        late.parse(raw, "g.yml")
    assert message in str(err.value)
