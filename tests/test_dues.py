"""dues.py: due dates in the documented input shapes, and as the model reads them."""

from __future__ import annotations

import pytest

from tools_server.dues import datetime_text, duration_input, moved_recurring_due, restored_due, show_due
from tools_server.sync.responses import Due, ItemDuration


@pytest.mark.parametrize(
    ("due", "zone", "shown"),
    [
        (Due(date="2026-12-03"), None, "2026-12-03"),
        (Due(date="2026-12-03T09:00:00.000000"), "Asia/Tokyo", "2026-12-03 09:00"),
        (Due(date="2026-12-03T09:00:30"), None, "2026-12-03 09:00:30"),
        (
            Due(date="2026-12-03T08:00:00.000000Z", timezone="Europe/Madrid"),
            "Asia/Tokyo",
            "2026-12-03 09:00 Europe/Madrid",
        ),
        (Due(date="2027-07-07T07:00:00Z", timezone="Europe/Madrid"), None, "2027-07-07 09:00 Europe/Madrid"),
        (Due(date="2026-12-03T20:00:00Z"), "Pacific/Kiritimati", "2026-12-04 10:00 Pacific/Kiritimati"),
        (Due(date="2026-12-03T20:00:00Z"), None, "2026-12-03 20:00 UTC"),
        (Due(date="2026-12-03T20:00:00Z", timezone="Not/AZone"), None, "2026-12-03 20:00 UTC"),
        (Due(date="0001-01-01T00:00:00Z", timezone="America/New_York"), None, "0001-01-01T00:00:00Z"),
        (Due(date="someday"), None, "someday"),
        (Due(date="2026-11-24", string="every day", is_recurring=True), None, "2026-11-24 (every day)"),
    ],
)
def test_a_due_is_shown_in_the_zone_it_belongs_to(due: Due, zone: str | None, shown: str) -> None:
    assert show_due(due, zone) == shown


@pytest.mark.parametrize(
    ("given", "fixed_zone", "sent"),
    [
        ("2026-12-01T09:00", None, "2026-12-01T09:00:00"),
        ("2026-12-01T09:00:00.123456", None, "2026-12-01T09:00:00"),
        ("2026-12-01T09:00:00-05:00", None, "2026-12-01T14:00:00Z"),
        ("2026-12-01T09:00", "Europe/Madrid", "2026-12-01T08:00:00Z"),
        ("not a datetime", None, "not a datetime"),
        ("9999-12-31T23:00:00-05:00", None, "9999-12-31T23:00:00-05:00"),
    ],
)
def test_a_datetime_from_the_model_becomes_a_documented_due_date(given: str, fixed_zone: str | None, sent: str) -> None:
    assert datetime_text(given, fixed_zone) == sent


def test_a_recurring_due_moved_to_a_new_day_keeps_rule_zone_and_wall_clock() -> None:
    before = Due(date="2026-11-25T13:00:00Z", timezone="Europe/Madrid", string="every wed at 2pm", lang="en",
                 is_recurring=True)  # fmt: skip
    assert moved_recurring_due(before, day="2027-07-07", when=None, lang=None) == {
        "date": "2027-07-07T12:00:00Z",
        "string": "every wed at 2pm",
        "is_recurring": True,
        "timezone": "Europe/Madrid",
        "lang": "en",
    }
    all_day = Due(date="2026-11-25", string="every wed", lang=None, is_recurring=True)
    assert moved_recurring_due(all_day, day="2026-12-02", when=None, lang="de") == {
        "date": "2026-12-02",
        "string": "every wed",
        "is_recurring": True,
        "lang": "de",
    }


def test_a_language_todoist_added_later_is_not_sent() -> None:
    before = Due(date="2026-11-25", string="every wed", lang="xx", is_recurring=True)
    assert "lang" not in restored_due(before)


@pytest.mark.parametrize(
    ("amount", "unit", "sent"),
    [
        (1.5, "hour", {"amount": 90, "unit": "minute"}),
        (2, "day", {"amount": 2, "unit": "day"}),
        (30.0, "minute", {"amount": 30, "unit": "minute"}),
        (22.5, "minute", None),
        (2, "week", None),
        (0, "minute", None),
    ],
)
def test_a_read_duration_is_sent_back_only_as_whole_minutes_or_days(
    amount: float, unit: str, sent: dict[str, object] | None
) -> None:
    assert duration_input(ItemDuration(amount=amount, unit=unit)) == sent
