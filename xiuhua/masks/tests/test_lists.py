"""The verification queue as a working list: filtered by channel on the page, downloaded as Excel
with the same columns and rows (numbers masked), within the committee's scope, audited."""

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.audit import AuditEvent
from xiuhua.core.idnumbers import IdType
from xiuhua.masks import services
from xiuhua.masks.models import Channel, Reservation
from xiuhua.testing import as_user

from .fixtures import unknown_id

pytestmark = pytest.mark.django_db


def waiting(masks, committee, *, name, channel, phone, address, minutes_ago, number=None):
    return services.reservation_submit(
        actor=None, round=masks.round, channel=channel, name=name, id_type=IdType.RESIDENT_ID,
        id_number=number or unknown_id(), phone=phone, committee=committee, address_text=address,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def rows_of(response):
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    return sheet, [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_verification_queue_filtered_by_channel_downloads_exactly_its_rows(client, world, masks):
    w = world
    sms_number = unknown_id()
    by_sms = waiting(masks, w.committee_a1, name="短信人", channel=Channel.SMS, phone="13900001111",
                     address="国和一村5号999室", minutes_ago=30, number=sms_number)
    online = waiting(masks, w.committee_a1, name="线上人", channel=Channel.ONLINE, phone="13900002222",
                     address="国和一村6号888室", minutes_ago=20)
    later_sms = waiting(masks, w.committee_a1, name="晚短信", channel=Channel.SMS, phone="13900003333",
                        address="国和一村6号777室", minutes_ago=10)
    waiting(masks, w.committee_a2, name="二村人", channel=Channel.SMS, phone="13900004444",
            address="国和二村12号666室", minutes_ago=25)
    assert Reservation.objects.filter(status="verifying").count() == 4
    url = reverse("masks:staff_verify_queue", args=[masks.round.pk])
    as_user(client, w.staff_a1)
    page = client.get(url, {"channel": "sms"})
    assert [r.pk for r in page.context["waiting"]] == [by_sms.pk, later_sms.pk]
    body = page.content.decode()
    assert '<td class="seq" data-label="序号">2</td>' in body
    link = re.search(r'id="queue-xlsx" href="([^"]+)"', body)[1].replace("&amp;", "&")
    assert link == f"{reverse('masks:staff_verify_queue_xlsx', args=[masks.round.pk])}?channel=sms"
    sheet, values = rows_of(client.get(link))
    assert values[0][0].startswith(f"{w.committee_a1.name} 第1轮 核实队列 ")
    assert values[1][0] == "渠道:短信"
    header = ["序号", "预约号", "姓名", "证件号码", "手机号", "填写的地址", "渠道", "排序时间"]
    assert values[2] == header
    head = body.split('id="verify-queue"')[1].split("</thead>")[0]
    assert [h for h in re.findall(r"<th[^>]*>([^<]*)</th>", head) if h] == header
    by_sms.refresh_from_db()
    later_sms.refresh_from_db()

    def local(moment):
        return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)

    assert values[3:] == [
        [1, by_sms.number, "短信人", by_sms.id_masked, "13900001111", "国和一村5号999室", "短信",
         local(by_sms.order_at)],
        [2, later_sms.number, "晚短信", later_sms.id_masked, "13900003333", "国和一村6号777室", "短信",
         local(later_sms.order_at)],
    ]
    assert sms_number not in str(values) and "*" in by_sms.id_masked
    first = list(sheet.iter_rows(min_row=4, max_row=4))[0]
    assert first[0].data_type == "n" and first[7].is_date and first[7].number_format == "yyyy-mm-dd hh:mm"
    event = AuditEvent.objects.get(action="mask_verify_queue_export")
    assert (event.actor, event.personal, event.committee_id, event.detail, event.object_id) == (
        w.staff_a1, True, w.committee_a1.pk, {"rows": 2}, masks.round.pk)
    # Unfiltered: the committee's three in queue order (online: the time it was accepted), never A2's.
    _sheet, values = rows_of(client.get(reverse("masks:staff_verify_queue_xlsx", args=[masks.round.pk])))
    assert values[1][0] == "全部待核实登记" and [r[2] for r in values[3:]] == ["短信人", "晚短信", "线上人"]
    assert online.pk in [r.pk for r in client.get(url).context["waiting"]]
    as_user(client, w.staff_a2)
    _sheet, values = rows_of(client.get(reverse("masks:staff_verify_queue_xlsx", args=[masks.round.pk])))
    assert [r[2] for r in values[3:]] == ["二村人"]
