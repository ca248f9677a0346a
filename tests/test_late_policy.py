"""The course's late-work policy (nbgrader's late-submission plugin): what a late
submission loses, and that a bad setting is refused with a message naming it."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from cvbook.grading.course import apply_course_settings
from cvbook.grading.late import DAY_S, LatePolicy


def make(**settings) -> LatePolicy:
    c = Config()
    for name, value in settings.items():
        setattr(c.LatePolicy, name, value)
    return LatePolicy(config=c)


def test_on_time_work_loses_nothing():
    assert make().late_submission_penalty("ada", 8.0, 0) == 0


def test_each_started_day_costs_its_share():
    policy = make(percent_per_day=25, zero_after_days=0)
    assert policy.late_submission_penalty("ben", 8.0, 1) == 2.0          # one second: one started day
    assert policy.late_submission_penalty("ben", 8.0, DAY_S) == 2.0
    assert policy.late_submission_penalty("ben", 8.0, DAY_S + 1) == 4.0  # into the second day
    assert policy.late_submission_penalty("ben", 8.0, 10 * DAY_S) == 8.0  # never more than the score


def test_grace_period_and_the_limit():
    policy = make(grace_minutes=15, percent_per_day=10, zero_after_days=2)
    assert policy.late_submission_penalty("cy", 10.0, 14 * 60) == 0
    assert policy.late_submission_penalty("cy", 10.0, 16 * 60) == pytest.approx(1.0)
    assert policy.late_submission_penalty("cy", 10.0, 2 * DAY_S + 15 * 60 + 1) == 10.0
    assert "15 minutes' grace" in policy.describe() and "2 days late earns nothing" in policy.describe()


def test_the_course_settings_install_the_policy():
    c = apply_course_settings(Config(), exchange="/srv/exchange")
    assert c.AssignLatePenalties.plugin_class == "cvbook.grading.late.LatePolicy"
    assert c.Exchange.root == "/srv/exchange"


def test_a_negative_setting_is_refused_by_name(tmp_path):
    from cvbook.grading import late

    (tmp_path / "nbgrader_config.py").write_text(
        "from cvbook.grading.course import apply_course_settings\n"
        "c = get_config()\napply_course_settings(c)\nc.LatePolicy.percent_per_day = -5\n")
    with pytest.raises(ValueError, match="percent_per_day"):
        late.policy(tmp_path)


def test_grading_refuses_a_negative_setting_too():
    with pytest.raises(ValueError, match="zero_after_days"):
        make(zero_after_days=-1)
