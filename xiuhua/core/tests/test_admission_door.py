"""The door's answer (config/gunicorn_worker.py): a complete resident request gets the
application's own 503 as raw HTTP; anything else is left to the threads."""

from xiuhua.core.admission import door_answer

BODY = b'{"round": 1}'
API = (b"POST /masks/api/reservations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY


def test_a_complete_resident_request_is_answered_503_with_its_length():
    length, response = door_answer(API + b"GET /next")  # the next request's bytes stay unread
    assert length == len(API)
    head, _sep, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nRetry-After: 2" in head and b"\r\nConnection: close" in head
    assert b"\r\nContent-Length: %d" % len(body) in head
    assert "预约资格不会因此失去" in body.decode()


def test_pages_get_the_busy_page_in_the_chosen_language():
    _length, response = door_answer(b"GET /masks/c/310000000001/ HTTP/1.1\r\nCookie: a=b; django_language=en\r\n\r\n")
    assert b"Content-Type: text/html" in response and b"Content-Language: en" in response


def test_staff_health_incomplete_and_odd_requests_are_left_to_the_threads():
    assert door_answer(b"GET /masks/staff/rounds/ HTTP/1.1\r\nHost: x\r\n\r\n") is None
    assert door_answer(b"GET /healthz HTTP/1.1\r\n\r\n") is None
    assert door_answer(API[:-3]) is None  # the body is not all there yet
    assert door_answer(b"POST /masks/api/reservations HTTP/1.1\r\nHost: x") is None
    assert door_answer(b"POST /masks/api/reservations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") is None
    assert door_answer(b"garbage\r\n\r\n") is None
