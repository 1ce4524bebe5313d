import pytest
from django.test import RequestFactory

from xiuhua.core.jsonbody import JsonBodyError, nesting_depth, parse_json_body


def _request(body: bytes):
    return RequestFactory().post("/", body, content_type="application/json")


@pytest.mark.parametrize(
    "text, depth",
    [("{}", 1), ('{"a": [1, {"b": 2}]}', 3), ('{"a": "[[[[{{{{"}', 1), (r'{"a": "\"[["}', 1), ("1", 0)],
)
def test_nesting_depth_ignores_brackets_inside_strings(text, depth):
    assert nesting_depth(text, stop_above=10) == depth


def test_a_plain_object_is_parsed_and_an_empty_body_is_the_default():
    assert parse_json_body(_request('{"name": "张"}'.encode()), max_bytes=100) == {"name": "张"}
    assert parse_json_body(_request(b""), max_bytes=100, empty={}) == {}


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"[" * 4096, 400, "请求体嵌套层数过多"),
        (b'{"a": ' * 9 + b"1" + b"}" * 9, 400, "请求体嵌套层数过多"),
        (b"{not json", 400, "请求体不是有效的 JSON"),
        (b"\xff\xfe", 400, "请求体不是有效的 JSON"),
        (b"[" + b" " * 200 + b"]", 413, "请求内容过大"),
    ],
)
def test_bad_bodies_are_refused_with_a_chinese_message(body, status, message):
    with pytest.raises(JsonBodyError) as exc:
        parse_json_body(_request(body), max_bytes=4096 if status != 413 else 100, max_depth=8)
    assert (exc.value.status_code, exc.value.message) == (status, message)
