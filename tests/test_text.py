"""redact_json's fast path (one scan of the encoded value) answers exactly as the string-by-string walk it skips."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tools_server.text import REDACTED, redact, redact_json

TOKEN = "0123456789abcdef0123456789abcdef01234567"
OAUTH = "tdd_Zk3-q.Yu~9+r/w=="

# Strings built from pieces that do and do not look like credentials, so both paths are taken often.
_PIECES = st.sampled_from(
    ["task", " ", "\n", "Bearer", "bearer\t", "token=", "api_key: ", '"', "\\", "é", "-", "_", "x" * 31, "a1" * 16,
     "f" * 32, TOKEN, OAUTH, "authorization", "42",
     "to\u212aen=", "authorİzation: ", "BEARER ", "é" * 32]
)  # fmt: skip
_TEXT = st.lists(_PIECES, max_size=6).map("".join)
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _walked(value: Any, token: str) -> Any:
    """The reference: every string redacted one by one (what redact_json did before its fast path)."""
    if isinstance(value, str):
        return redact(value, token)
    if isinstance(value, dict):
        return {_walked(k, token): _walked(v, token) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_walked(v, token) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


@given(_JSON, st.sampled_from([TOKEN, OAUTH, "local", ""]))
def test_fast_path_answers_as_the_walk(value: Any, token: str) -> None:
    assert json.dumps(redact_json(value, token)) == json.dumps(_walked(value, token))


def test_a_token_inside_a_result_is_hidden_and_a_clean_result_is_returned_as_is() -> None:
    clean = {"ids": ["6X7rM8997g3RQmvh"], "text": "Added 1 task: buy milk."}
    assert redact_json(clean, TOKEN) is clean
    assert redact_json({"note": f"echo {OAUTH} back"}, OAUTH) == {"note": f"echo {REDACTED} back"}
    assert redact_json(["line\nBearer\nabc"], "") == [f"line\nBearer\n{REDACTED}"]
