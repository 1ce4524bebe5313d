"""The staff outbox page and the simulated inbox (system administrator only): authorisation
matrix and what is shown."""

import pytest
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.sms.models import DevDelivery, InboundSms, OutboundSms
from xiuhua.sms.otp import otp_request
from xiuhua.sms.services import sms_deliver, sms_send

pytestmark = pytest.mark.django_db
OUTBOX = reverse("sms:outbox")
SIMULATE = reverse("sms:simulate")


@pytest.fixture
def outbox(world, dev_backend):
    def queue(key, phone, committee, content):
        return sms_send(to=phone, template="XH_REPLY", params={"content": content}, purpose="reply",
                        idempotency_key=key, committee=committee)

    return {
        "a1": queue("a1", "13811110001", world.committee_a1, "国和一村:口罩已到"),
        "a2": queue("a2", "13811110002", world.committee_a2, "国和二村:口罩已到"),
        "b1": queue("b1", "13811110003", world.committee_b1, "政立路:口罩已到"),
        "none": queue("none", "13811110004", None, "无居委会的短信"),
        "otp": OutboundSms.objects.get(pk=otp_request(phone="13811110005", purpose="login").sms_id),
    }


def written():
    return (OutboundSms.objects.count(), InboundSms.objects.count(), AuditEvent.objects.count())


def test_anonymous_is_sent_to_login(client, outbox):
    for response in (client.get(OUTBOX), client.post(SIMULATE, {"phone": "13812345678", "text": "帮助"})):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert written() == (5, 0, 0)


@pytest.mark.parametrize("who", ["volunteer", "grid_worker", "pharmacy_clerk", "no_role"])
def test_roles_without_the_capability_are_refused_the_outbox(client, world, outbox, who):
    client.force_login(getattr(world, who))
    assert client.get(OUTBOX).status_code == 403
    assert written() == (5, 0, 0)


@pytest.mark.parametrize(
    "who", ["staff_a1", "street_officer", "district_officer", "volunteer", "grid_worker", "pharmacy_clerk", "no_role"]
)
def test_only_the_system_administrator_may_simulate(client, world, outbox, who):
    client.force_login(getattr(world, who))
    assert client.get(SIMULATE).status_code == 403
    assert client.post(SIMULATE, {"phone": "13812345678", "text": "帮助"}).status_code == 403
    assert written() == (5, 0, 0)


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("staff_a1", {"a1"}),
        ("staff_a2", {"a2"}),
        ("staff_b1", {"b1"}),
        ("street_officer", {"a1", "a2"}),
        ("street_officer_b", {"b1"}),
        ("district_officer", {"a1", "a2", "b1"}),
    ],
)
def test_each_user_sees_the_messages_of_their_committees_only(client, world, outbox, who, visible):
    client.force_login(getattr(world, who))
    response = client.get(OUTBOX)
    assert response.status_code == 200
    page = response.content.decode()
    assert {key for key in ("a1", "a2", "b1") if outbox[key].params["content"] in page} == visible
    assert "无居委会的短信" not in page and "验证码******" not in page


def test_phones_are_masked_and_codes_never_shown(client, world, outbox, dev_backend):
    code = outbox["otp"].params["code"]
    outbox["otp"].committee = world.committee_a1  # even if an OTP were filed under a committee
    outbox["otp"].save()
    client.force_login(world.staff_a1)
    page = client.get(OUTBOX).content.decode()
    assert "138****0001" in page and "13811110001" not in page
    assert "验证码******" in page and code not in page
    assert "13811110005" not in page


def test_the_status_filter(client, world, outbox):
    OutboundSms.objects.filter(pk=outbox["a1"].pk).update(status="failed", last_error="isv.MOBILE_NUMBER_ILLEGAL")
    client.force_login(world.street_officer)
    page = client.get(OUTBOX, {"status": "failed"}).content.decode()
    assert "国和一村:口罩已到" in page and "国和二村:口罩已到" not in page and "MOBILE_NUMBER_ILLEGAL" in page
    assert "国和二村:口罩已到" in client.get(OUTBOX, {"status": "bogus"}).content.decode()


def test_the_simulated_inbox_plays_an_sms_through_the_real_path(client, world, dev_backend):
    client.force_login(world.sysadmin)
    assert 'href="/sms/simulate/"' in client.get("/").content.decode()
    page = client.get(SIMULATE).content.decode()
    assert 'id="simulate-form"' in page
    response = client.post(SIMULATE, {"phone": "１３８ １２３４ ５６７８", "text": "帮助"}, follow=True)
    assert response.redirect_chain == [(SIMULATE, 302)]
    page = response.content.decode()
    assert "已收到,回复:【绣花针】可发送以下关键字:帮助、口罩、求助、抗原。" in page
    inbound = InboundSms.objects.get()
    assert (inbound.phone, inbound.source, inbound.status, inbound.committee) == (
        "13812345678", "simulated", "handled", None)
    reply = OutboundSms.objects.get()
    assert (reply.committee, reply.idempotency_key) == (None, f"reply:{inbound.pk}")
    assert "13812345678" not in page
    event = AuditEvent.objects.get(actor=world.sysadmin)  # the dispatch's own event is the system's
    assert (event.action, event.actor, event.committee, event.subject_label) == (
        "sms_simulate_inbound", world.sysadmin, None, "138****5678")


def test_staff_see_no_simulated_inbox_on_the_outbox(client, world, dev_backend):
    client.force_login(world.staff_a1)
    page = client.get(OUTBOX).content.decode()
    assert 'id="simulate-form"' not in page and 'href="/sms/simulate/"' not in page


def test_the_simulated_inbox_shows_errors_and_writes_nothing(client, world, dev_backend):
    client.force_login(world.sysadmin)
    response = client.post(SIMULATE, {"phone": "12345", "text": "帮助"})
    assert response.status_code == 400 and "手机号码格式不正确" in response.content.decode()
    response = client.post(SIMULATE, {"phone": "13812345678", "text": ""})
    assert response.status_code == 400
    assert written() == (0, 0, 0)


def test_with_a_real_provider_there_is_no_simulated_inbox(client, world, provider):
    client.force_login(world.sysadmin)
    page = client.get(SIMULATE).content.decode()
    assert 'id="simulate-form"' not in page and 'id="sms-simulate-off"' in page
    assert client.post(SIMULATE, {"phone": "13812345678", "text": "帮助"}).status_code == 403
    assert written() == (0, 0, 0)


def test_simulate_answers_get_and_post_only(client, world):
    client.force_login(world.sysadmin)
    assert client.put(SIMULATE).status_code == 405


def test_with_the_dev_backend_the_system_administrator_reads_what_phones_would_have_received(
    client, world, outbox, dev_backend
):
    code = outbox["otp"].params["code"]
    for sms in outbox.values():
        assert sms_deliver(sms_id=sms.pk) == "sent"
    # The outbox itself keeps the code no longer; the stand-in handset has the full text.
    assert code not in OutboundSms.objects.get(pk=outbox["otp"].pk).text
    assert DevDelivery.objects.count() == 5
    client.force_login(world.sysadmin)
    assert 'href="/sms/"' in client.get("/").content.decode()
    page = client.get(OUTBOX).content.decode()
    assert "开发短信通道" in page and "为便于演示和培训" in page
    assert f"【绣花针】验证码{code},5分钟内有效,请勿告诉他人。" in page
    for text in ("国和一村:口罩已到", "国和二村:口罩已到", "政立路:口罩已到", "无居委会的短信"):
        assert text in page
    assert "138****0005" in page and "13811110005" not in page  # phones stay masked
    # Committee staff see the same outbox masked, and no handset.
    client.force_login(world.staff_a1)
    staff_page = client.get(OUTBOX).content.decode()
    assert "开发短信通道" not in staff_page and code not in staff_page


def test_with_a_real_provider_the_system_administrator_reads_no_message(client, world, provider):
    otp = OutboundSms.objects.get(pk=otp_request(phone="13811110005", purpose="login").sms_id)
    assert sms_deliver(sms_id=otp.pk) == "sent"
    assert DevDelivery.objects.count() == 0
    client.force_login(world.sysadmin)
    response = client.get(OUTBOX)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="dev-handset-off"' in page
    assert "开发短信通道" not in page and "无居委会的短信" not in page and otp.params["code"] not in page


def test_the_stand_in_handset_keeps_one_day(world, outbox, dev_backend):
    assert sms_deliver(sms_id=outbox["a1"].pk) == "sent"
    DevDelivery.objects.update(delivered_at=DevDelivery.objects.get().delivered_at - DevDelivery.KEEP)
    assert sms_deliver(sms_id=outbox["a2"].pk) == "sent"
    assert list(DevDelivery.objects.values_list("sms_id", flat=True)) == [outbox["a2"].pk]
