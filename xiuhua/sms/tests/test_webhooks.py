"""Delivery-report and inbound webhooks: signatures, replays, exact times, dispatch."""

import datetime as dt
import json
import time
import zoneinfo

import pytest
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.sms.handlers import Reply
from xiuhua.sms.models import InboundSms, OutboundSms
from xiuhua.sms.services import sms_deliver, sms_send

from .fake_provider import sign_webhook

Status = OutboundSms.Status
pytestmark = pytest.mark.django_db

REPORT = reverse("sms:webhook_report")
INBOUND = reverse("sms:webhook_inbound")


def post(client, url, payload, *, secret="webhook-secret-for-tests", timestamp=None, headers=None, raw=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    signed = sign_webhook(body, secret, timestamp)
    signed.update(headers or {})
    return client.post(url, body, content_type="application/json",
                       headers=signed)


def counts():
    return (OutboundSms.objects.count(), InboundSms.objects.count(), AuditEvent.objects.count(),
            list(OutboundSms.objects.values_list("status", flat=True)))


@pytest.fixture
def sent(provider):
    sms = sms_send(to="13812345678", template="XH_REPLY", params={"content": "您的口罩预约已登记"}, purpose="test",
                   idempotency_key="t1")
    sms_deliver(sms_id=sms.pk)
    sms.refresh_from_db()
    assert sms.status == Status.SENT
    return sms


def report(sms, success=True, **extra):
    return {"biz_id": sms.provider_message_id, "phone_number": sms.phone, "success": success,
            "err_code": "DELIVERED" if success else "MK:0001", "err_msg": "用户接收成功" if success else "空号",
            "report_time": "2020-02-05 10:00:05", "out_id": f"xh-{sms.pk}", **extra}


# --- delivery reports ---------------------------------------------------------------------


def test_a_success_report_marks_the_message_delivered_at_the_providers_time(client, sent):
    response = post(client, REPORT, [report(sent)])
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "成功", "applied": 1, "duplicates": 0}
    sent.refresh_from_db()
    beijing = zoneinfo.ZoneInfo("Asia/Shanghai")
    assert (sent.status, sent.delivered_at) == (Status.DELIVERED, dt.datetime(2020, 2, 5, 10, 0, 5, tzinfo=beijing))


def test_a_failure_report_marks_it_failed_with_the_reason(client, sent):
    response = post(client, REPORT, report(sent, success=False))
    assert response.status_code == 200
    sent.refresh_from_db()
    assert (sent.status, sent.last_error) == (Status.FAILED, "MK:0001 空号") and sent.failed_at is not None


def test_a_replayed_report_is_refused_and_changes_nothing(client, sent):
    assert post(client, REPORT, [report(sent)]).status_code == 200
    sent.refresh_from_db()
    before = (sent.status, sent.delivered_at)
    response = post(client, REPORT, [report(sent, success=False, report_time="2020-02-06 00:00:00")])
    assert response.status_code == 409
    sent.refresh_from_db()
    assert (sent.status, sent.delivered_at) == before


def test_a_report_finds_a_message_the_sweep_recovered_by_its_out_id(client, sent):
    # Found at the provider by its OutId after its worker died (sms_sweep): no BizId was known.
    sent.provider_message_id = f"xh-{sent.pk}"
    sent.save(update_fields=["provider_message_id"])
    response = post(client, REPORT, [report(sent, biz_id="900007")])
    assert response.status_code == 200 and response.json()["applied"] == 1
    sent.refresh_from_db()
    assert (sent.status, sent.provider_message_id) == (Status.DELIVERED, "900007")
    # Another message's OutId does not match a message that has its own BizId.
    other = report(sent, biz_id="900008", out_id=f"xh-{sent.pk}")
    sent.provider_message_id = "111"
    sent.save(update_fields=["provider_message_id"])
    assert post(client, REPORT, [other]).status_code == 404


def test_a_report_for_an_unknown_id_writes_nothing(client, sent):
    response = post(client, REPORT, [report(sent), {"biz_id": "nope", "success": True}])
    assert response.status_code == 404
    sent.refresh_from_db()
    assert sent.status == Status.SENT


@pytest.mark.parametrize(
    "how",
    ["forged", "stale", "future", "no_headers", "timestamp_swapped", "bad_timestamp", "no_secret_here"],
)
def test_a_report_without_a_good_signature_is_refused_and_writes_nothing(client, sent, settings, how):
    body = json.dumps([report(sent)]).encode()
    now = int(time.time())
    headers = sign_webhook(body, "webhook-secret-for-tests", now)
    if how == "forged":
        headers = sign_webhook(body, "guessed-secret", now)
    elif how == "stale":
        headers = sign_webhook(body, "webhook-secret-for-tests", now - 301)
    elif how == "future":
        # A minute past the limit: the request is checked a moment after `now` was read (a loaded
        # machine takes over a second), and that moment brings a future stamp closer.
        headers = sign_webhook(body, "webhook-secret-for-tests", now + 360)
    elif how == "no_headers":
        headers = {}
    elif how == "timestamp_swapped":
        old = sign_webhook(body, "webhook-secret-for-tests", now - 3600)
        headers = {"X-Sms-Timestamp": str(now), "X-Sms-Signature": old["X-Sms-Signature"]}
    elif how == "bad_timestamp":
        headers = {"X-Sms-Timestamp": "1e9", "X-Sms-Signature": headers["X-Sms-Signature"]}
    before = counts()
    if how == "no_secret_here":
        settings.SMS_WEBHOOK_SECRET = ""
    response = client.post(REPORT, body, content_type="application/json", headers=headers)
    expected = 503 if how == "no_secret_here" else 401
    assert response.status_code == expected
    assert counts() == before
    sent.refresh_from_db()
    assert sent.status == Status.SENT and sent.delivered_at is None


def test_a_body_changed_after_signing_is_refused(client, sent):
    body = json.dumps([report(sent)]).encode()
    headers = sign_webhook(body)
    tampered = body.replace(b"true", b"false")
    assert client.post(REPORT, tampered, content_type="application/json", headers=headers).status_code == 401
    sent.refresh_from_db()
    assert sent.status == Status.SENT


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b"not json", 400), (b"[]", 400), (b"[1]", 400), (b'[{"biz_id": "x"}]', 400),
     (b'[{"biz_id": "x", "success": true, "report_time": "yesterday"}]', 400)],
)
def test_malformed_reports_are_refused(client, sent, raw, status):
    assert post(client, REPORT, None, raw=raw).status_code == status
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_webhooks_take_post_only(client, webhook_secret):
    assert client.get(REPORT).status_code == 405
    assert client.get(INBOUND).status_code == 405


def test_an_oversized_body_is_refused(client, webhook_secret):
    assert post(client, INBOUND, None, raw=b"[" + b" " * 300_000 + b"]").status_code == 413
    assert not InboundSms.objects.exists()


# --- inbound ------------------------------------------------------------------------------


def inbound(message_id="m-1", content="帮助", phone="13812345678", receive_time="2020-02-05T10:00:00.123456+08:00"):
    return {"message_id": message_id, "phone_number": phone, "content": content, "receive_time": receive_time,
            "sign_name": "绣花针", "dest_code": "1069"}


def test_an_inbound_message_is_stored_with_the_providers_time_and_answered(client, webhook_secret, dev_backend):
    response = post(client, INBOUND, inbound())
    assert response.status_code == 200 and response.json()["stored"] == 1
    sms = InboundSms.objects.get()
    beijing = zoneinfo.ZoneInfo("Asia/Shanghai")
    assert sms.received_at == dt.datetime(2020, 2, 5, 10, 0, 0, 123456, tzinfo=beijing)
    assert sms.received_at_raw == "2020-02-05T10:00:00.123456+08:00"
    assert (sms.phone, sms.text, sms.status, sms.handler, sms.source) == (
        "13812345678", "帮助", InboundSms.Status.HANDLED, "help", "provider")
    reply = OutboundSms.objects.get()
    assert (reply.phone, reply.template, reply.purpose, reply.idempotency_key) == (
        "13812345678", "XH_REPLY", "reply", f"reply:{sms.pk}")
    assert reply.text == "【绣花针】可发送以下关键字:帮助、口罩、求助、抗原。其他事项请联系居委会。" == sms.reply


def test_a_time_without_offset_is_beijing_time(client, webhook_secret):
    post(client, INBOUND, inbound(receive_time="2020-02-05 10:00:00"))
    assert InboundSms.objects.get().received_at == dt.datetime(2020, 2, 5, 2, 0, tzinfo=dt.UTC)


def test_a_replayed_message_id_is_refused_and_not_answered_twice(client, webhook_secret):
    assert post(client, INBOUND, inbound()).status_code == 200
    before = counts()
    response = post(client, INBOUND, inbound(content="帮助 again"))
    assert response.status_code == 409 and response.json()["duplicates"] == 1
    assert counts() == before


def test_a_forged_inbound_message_writes_nothing(client, webhook_secret):
    response = post(client, INBOUND, inbound(), secret="guessed")
    assert response.status_code == 401
    assert counts() == (0, 0, 0, [])


def test_a_stale_inbound_message_writes_nothing(client, webhook_secret):
    assert post(client, INBOUND, inbound(), timestamp=int(time.time()) - 600).status_code == 401
    assert counts() == (0, 0, 0, [])


def test_a_batch_keeps_new_messages_and_skips_seen_ones(client, webhook_secret):
    post(client, INBOUND, inbound("m-1"))
    response = post(client, INBOUND, [inbound("m-1"), inbound("m-2", phone="13900001111")])
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "成功", "stored": 1, "duplicates": 1}
    assert InboundSms.objects.count() == 2 and OutboundSms.objects.count() == 2


def test_a_bad_item_refuses_the_whole_batch(client, webhook_secret):
    response = post(client, INBOUND, [inbound("m-1"), inbound("m-2", receive_time="")])
    assert response.status_code == 400 and counts() == (0, 0, 0, [])


def test_an_unrecognised_message_gets_the_help_reply(client, webhook_secret):
    post(client, INBOUND, inbound(content="你好,请问口罩在哪里买"))
    sms = InboundSms.objects.get()
    assert sms.status == InboundSms.Status.UNRECOGNISED
    assert OutboundSms.objects.get().text == (
        "【绣花针】未能识别您的短信。可发送以下关键字:帮助、口罩、求助、抗原。其他事项请联系居委会。"
    )


@pytest.mark.parametrize("content", ["ＨＥＬＰ", " 帮　助。", "help"])
def test_full_width_and_spaced_keywords_match(client, webhook_secret, content):
    post(client, INBOUND, inbound(content=content))
    sms = InboundSms.objects.get()
    assert (sms.status, sms.text) == (InboundSms.Status.HANDLED, content)


def test_handlers_see_normalised_text_and_messages_in_receive_order(client, webhook_secret, inbound_handler, world):
    seen = []

    def reserve(message):
        seen.append((message.text, message.compact, message.received_at))
        return Reply(text=f"已登记,第{len(seen)}位。", committee=world.committee_a1, purpose="mask_reservation")

    inbound_handler(r"预约", reserve, keyword="预约")
    later = inbound("m-2", content="预约　５号　３０２", phone="13900001111",
                    receive_time="2020-02-05T10:00:00.5+08:00")
    earlier = inbound("m-1", content="预约 6号 101", receive_time="2020-02-05T10:00:00.4+08:00")
    assert post(client, INBOUND, [later, earlier]).status_code == 200
    assert [s[0] for s in seen] == ["预约 6号 101", "预约 5号 302"]
    assert seen[1][1] == "预约5号302"
    replies = OutboundSms.objects.order_by("pk")
    assert [(r.text, r.purpose, r.committee) for r in replies] == [
        ("【绣花针】已登记,第1位。", "mask_reservation", world.committee_a1),
        ("【绣花针】已登记,第2位。", "mask_reservation", world.committee_a1),
    ]
    assert set(InboundSms.objects.values_list("committee", flat=True)) == {world.committee_a1.pk}


def test_a_failing_handler_rolls_back_its_work_and_the_sender_gets_an_apology(client, webhook_secret, inbound_handler):
    def broken(message):
        OutboundSms.objects.create(phone="13800000000", template="XH_REPLY", text="x", purpose="x",
                                   idempotency_key="written-by-handler")
        raise RuntimeError("bug")

    inbound_handler(r"坏", broken, keyword="坏")
    assert post(client, INBOUND, inbound(content="坏")).status_code == 200
    sms = InboundSms.objects.get()
    assert (sms.status, sms.error) == (InboundSms.Status.ERROR, "RuntimeError")
    assert not OutboundSms.objects.filter(idempotency_key="written-by-handler").exists()
    assert OutboundSms.objects.get().text.startswith("【绣花针】系统繁忙")


def test_a_handler_may_stay_silent(client, webhook_secret, inbound_handler):
    inbound_handler(r"TD", lambda message: None, keyword="TD")
    post(client, INBOUND, inbound(content="td"))
    assert InboundSms.objects.get().status == InboundSms.Status.HANDLED and not OutboundSms.objects.exists()


def test_a_message_from_a_non_mobile_is_stored_but_not_answered(client, webhook_secret):
    post(client, INBOUND, inbound(phone="10086"))
    sms = InboundSms.objects.get()
    assert sms.phone == "10086" and "not a mobile" in sms.error and not OutboundSms.objects.exists()

