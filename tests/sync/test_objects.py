"""sync/responses.py: a real-shaped response (tests/data/sync_v1) is read whole, and one unreadable object is skipped
with one warning while everything else in the response is applied."""

from __future__ import annotations

import json
import logging
from typing import Any

import msgspec
import pytest

from tests.corpus import full_sync, load
from tools_server.sync.mirror import Mirror
from tools_server.sync.resources import Item, WeekCount
from tools_server.sync.responses import UnreadableResponse, read_completed_page, read_response

SKIPPED = "skipped unreadable"


def _read(data: dict[str, Any]) -> Mirror:
    mirror = Mirror()
    mirror.apply(read_response(json.dumps(data)))
    return mirror


def _skips(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and SKIPPED in r.getMessage()]


def test_a_documented_full_sync_is_read_whole(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    mirror = _read(load("full_sync"))
    assert len(mirror.items) == 9 and len(mirror.projects) == 3 and len(mirror.sections) == 1
    assert set(mirror.labels) == {"2156154810", "2156154811"}
    assert mirror.inbox_project_id == "6X7rM8997g3RQmvh"
    assert mirror.projects["6Jf8VQXxpwv56VQ7"].is_shared
    assert _skips(caplog) == []


def test_the_users_timezone_comes_from_tz_info() -> None:
    data = full_sync("Pacific/Kiritimati")
    assert "timezone" not in data["user"]
    mirror = _read(data)
    assert mirror.timezone == "Pacific/Kiritimati"
    assert (mirror.start_day, mirror.date_format, mirror.lang) == (1, 0, "en")


def test_the_week_start_comes_from_start_day() -> None:
    data = full_sync()
    data["user"]["start_day"] = 7
    assert _read(data).start_day == 7


def test_a_top_level_timezone_is_read_only_when_tz_info_is_missing() -> None:
    data = full_sync("Asia/Tokyo")
    data["user"]["timezone"] = "America/Lima"
    assert _read(data).timezone == "Asia/Tokyo"
    del data["user"]["tz_info"]
    assert _read(data).timezone == "America/Lima"


def test_is_dst_as_one_is_read() -> None:
    data = full_sync("America/Santiago")
    data["user"]["tz_info"].update(is_dst=1, gmt_string="-03:00", hours=-3)
    assert _read(data).timezone == "America/Santiago"


def test_due_lang_null_is_read() -> None:
    item = _read(load("full_sync")).items["6X7rfFVPjhvv84XH"]
    assert item.due is not None and item.due.lang is None and item.due.date == "2026-11-23"


def test_a_duration_in_hours_is_read() -> None:
    duration = _read(load("full_sync")).items["6X7rfFVPjhvv84XK"].duration
    assert duration is not None and (duration.amount, duration.unit) == (1.5, "hour")


def test_a_fractional_duration_amount_is_read() -> None:
    data = load("full_sync")
    data["items"][5]["duration"] = {"amount": 22.5, "unit": "minute"}
    duration = _read(data).items[data["items"][5]["id"]].duration
    assert duration is not None and duration.amount == 22.5


def test_a_label_with_item_order_null_is_read() -> None:
    label = _read(load("full_sync")).labels["2156154810"]
    assert label.name == "errands" and label.item_order is None


def test_numeric_user_ids_are_read_as_strings() -> None:
    item = _read(load("full_sync")).items["6X7rfFVPjhvv84XH"]
    assert item.user_id == "2671355" and item.added_by_uid == "2671355"


def test_a_deadline_without_lang_and_a_due_without_timezone_or_lang_are_read() -> None:
    mirror = _read(load("full_sync"))
    apples = mirror.items["6X7rfFVPjhvv84XP"]
    assert apples.deadline is not None and apples.deadline.date == "2026-12-10" and apples.deadline.lang is None
    bank = mirror.items["6X7rfFVPjhvv84XJ"]
    assert bank.due is not None and bank.due.timezone is None and bank.due.lang is None


def test_an_unreadable_object_is_skipped_with_one_warning_and_the_rest_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    mirror = _read(load("full_sync"))
    response = read_response(json.dumps(load("incremental")))
    mirror.apply(response)
    [warning] = _skips(caplog)
    assert "item" in warning and "6X7rfFVPjhvv84XZ" in warning and "due.date" in warning
    assert "6X7rfFVPjhvv84XZ" not in mirror.items
    assert response.sync_token.endswith("GpX")
    assert mirror.items["6X7rfFVPjhvv84XJ"].content == "Call the bank again"
    assert "6X7rfFVPjhvv84XH" not in mirror.items and mirror.gone["6X7rfFVPjhvv84XH"][0] == "completed"
    assert "6X7rfFVPjhvv84XS" in mirror.items  # numeric ids, null deadline lang, a duration in hours
    assert "2156154811" not in mirror.labels  # a label tombstone with item_order null


def test_an_unreadable_command_status_leaves_only_that_command_unconfirmed() -> None:
    data = {"sync_token": "t2", "sync_status": {"u1": "ok", "u2": ["?"]}, "temp_id_mapping": {"a": 123}}
    response = read_response(json.dumps(data))
    assert response.sync_status == {"u1": "ok"} and response.temp_id_mapping == {"a": "123"}


def test_an_unreadable_user_setting_costs_only_that_setting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    data = full_sync("Pacific/Pago_Pago")
    data["user"]["start_day"] = "monday"
    mirror = _read(data)
    assert mirror.timezone == "Pacific/Pago_Pago" and mirror.start_day == 1
    assert mirror.inbox_project_id == "6X7rM8997g3RQmvh"
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "start_day" in warning and "monday" not in warning


def test_lax_values_are_read_as_the_docs_types_and_the_rest_of_the_response_in_the_same_pass() -> None:
    data = load("full_sync")
    data["items"][0].update(priority="4", child_order=2.0, checked=0, section_id=2203306141, labels=["a", 7])
    item = _read(data).items[data["items"][0]["id"]]
    assert (item.priority, item.child_order, item.checked) == (4, 2, False)
    assert item.section_id == "2203306141" and item.labels == ("a", "7")
    assert len(_read(data).items) == 9


def test_a_skip_warning_names_type_id_and_field_but_no_value(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    data = load("full_sync")
    secret = "Buy a present for Ana"
    data["items"][1].update(content=secret, priority={"level": secret})
    mirror = _read(data)
    [warning] = _skips(caplog)
    assert f"item id={data['items'][1]['id']} (priority:" in warning and secret not in warning
    assert len(mirror.items) == 8


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>", "body: not JSON"),
        (b"[1]", "body: Expected `object`, got `array`"),
        (b'{"full_sync": true}', "sync_token: missing"),
        (b'{"sync_token": 5}', "sync_token: Expected `str`, got `int`"),
    ],
)
def test_a_body_that_is_no_sync_response_is_unreadable_naming_where(body: bytes, problem: str) -> None:
    with pytest.raises(UnreadableResponse) as info:
        read_response(body)
    assert str(info.value) == problem


def test_a_resource_that_is_not_a_list_is_ignored_and_the_rest_applied(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    data = load("full_sync")
    data["labels"] = {"2156154810": "errands"}
    mirror = _read(data)
    assert mirror.labels == {} and len(mirror.items) == 9
    assert any("labels is not a list" in r.getMessage() for r in caplog.records)


def test_a_completed_page_is_read_leniently_and_a_broken_one_names_where() -> None:
    page = read_completed_page(b'{"items": [{"id": 7, "content": "x", "due": {"date": "2026-11-23"}}], "extra": 1}')
    assert [(t.id, t.content, t.due and t.due.date) for t in page.items] == [("7", "x", "2026-11-23")]
    assert page.next_cursor is None
    with pytest.raises(UnreadableResponse) as info:
        read_completed_page(b'{"items": [{"content": "x"}]}')
    assert str(info.value) == "items.0.id: missing"


def test_every_task_of_the_documented_full_sync_is_kept_without_its_defaults_and_read_back_the_same() -> None:
    """Records (undo, cursors, `call`'s mirror) keep tasks as msgspec encodes them: without the fields that hold
    their default, so about half the bytes; what is read back equals what was kept, and model_dump (what goes into
    undo's comparisons and the resources) still has every field."""
    items = list(_read(full_sync()).items.values())
    assert items
    for item in items:
        kept = msgspec.json.encode(item)
        assert msgspec.json.decode(kept, type=Item) == item
        dumped = item.model_dump()
        assert set(dumped) == set(Item.__struct_fields__)
        assert len(kept) < len(json.dumps(dumped, separators=(",", ":")))
    bare = msgspec.json.encode(Item(id="1", content="milk"))
    assert b"labels" not in bare and b"due" not in bare and b"priority" not in bare
    assert Item(id="1", content="milk").model_dump()["priority"] == 1
    assert WeekCount().model_dump()["from"] == ""  # a renamed field under its wire name
