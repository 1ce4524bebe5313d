"""The isolation pledge signed on the staff member's screen (door visit): the service and the page.

A signature arrives as a PNG data URL from the page's canvas; it is checked strictly, flattened
onto white and stored as a JPEG in private storage, like a photo of the signed paper.
"""

import base64
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw, PngImagePlugin

from xiuhua.core.models import AuditEvent
from xiuhua.isolation import services
from xiuhua.isolation.models import CaseStep, PledgeKind, Step
from xiuhua.testing import acting

from .test_pages import ARRIVAL_ID
from .test_pages import open_case as open_case_today
from .test_services import at, open_case

pytestmark = pytest.mark.django_db

PREFIX = "data:image/png;base64,"
TICKED = {"health_form": True, "pledge_signed": True, "kit_given": True}


def png(image: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def canvas(size=(800, 400), *, stroke=True) -> Image.Image:
    """A canvas as the page sends it: transparent where nobody drew, dark ink where they did."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if stroke:
        w, h = size
        ImageDraw.Draw(image).line(
            [(w * 0.1, h * 0.6), (w * 0.3, h * 0.3), (w * 0.5, h * 0.7), (w * 0.8, h * 0.4)], fill="#111", width=6
        )
    return image


def data_url(raw: bytes, prefix: str = PREFIX) -> str:
    return prefix + base64.b64encode(raw).decode()


def signature() -> str:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone's phone")
    return data_url(png(canvas(), pnginfo=info))


def private_files() -> set[Path]:
    root = Path(settings.PRIVATE_FILES_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def door_state(case):
    return (
        list(CaseStep.objects.filter(case=case).values_list("step", "done_at", "pledge_photo", "pledge_kind")),
        AuditEvent.objects.count(),
        private_files(),
    )


def photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("pledge.png", png(Image.new("RGB", (400, 300), "white")), content_type="image/png")


def test_a_signature_is_stored_flattened_without_metadata_and_audited(world):
    case = open_case(world)
    before = private_files()
    step = services.step_complete(
        actor=acting(world.staff_a1), case=case, step=Step.DOOR_VISIT, pledge_signature=signature(),
        note="本人在手机上签名", now=at(10, 14), **TICKED,
    )
    step.refresh_from_db()
    assert (step.done_by, step.done_at, step.pledge_kind) == (world.staff_a1, at(10, 14), PledgeKind.SIGNATURE)
    assert step.pledge_photo.name.startswith("pledges/") and step.pledge_photo.name.endswith(".jpg")
    assert len(private_files() - before) == 1
    with step.pledge_photo.open("rb") as f, Image.open(f) as stored:
        assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (800, 400))
        assert not stored.getexif() and "Author" not in stored.info
        # Flattened onto white (the canvas was transparent), the ink kept dark.
        assert stored.getpixel((5, 5)) >= (250, 250, 250)
        assert stored.convert("L").getextrema()[0] < 60
    event = AuditEvent.objects.get(action="isolation_step")
    assert event.detail == {"step": "door_visit", "pledge": "signature"}


def test_a_photo_is_recorded_as_a_photo(world):
    case = open_case(world)
    step = services.step_complete(actor=acting(world.staff_a1), case=case, step=Step.DOOR_VISIT,
                                  pledge_photo=photo(), now=at(10, 14), **TICKED)
    assert step.pledge_kind == PledgeKind.PHOTO
    assert AuditEvent.objects.get(action="isolation_step").detail == {"step": "door_visit", "pledge": "photo"}


def _big_png() -> bytes:
    """A real PNG over 1 MB: noise does not compress."""
    raw = Image.frombytes("RGB", (700, 700), bytes((i * 7919) % 251 for i in range(700 * 700 * 3)))
    data = png(raw, compress_level=0)
    assert len(data) > 1024 * 1024
    return data


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    canvas().convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


BLANK = "签名区是空白的,请本人在框内签名"
UNREADABLE = "无法识别该签名,请点“重写”后重新签名"
TOO_BIG = "签名图片超过1MB,请点“重写”后重新签名"
ODD_SIZE = "签名区大小异常,请刷新页面后重新签名"


@pytest.mark.parametrize(
    "make, message",
    [
        pytest.param(lambda: data_url(png(canvas(stroke=False))), BLANK, id="blank-canvas"),
        pytest.param(lambda: data_url(png(Image.new("RGB", (800, 400), "white"))), BLANK, id="white-canvas"),
        pytest.param(lambda: data_url(png(Image.new("RGBA", (800, 400), (255, 255, 255, 0)))), BLANK,
                     id="transparent-white"),
        pytest.param(lambda: data_url(png(_tap())), BLANK, id="a-stray-tap"),
        pytest.param(lambda: data_url(_jpeg()), UNREADABLE, id="jpeg-called-png"),
        pytest.param(lambda: data_url(png(canvas()), "data:image/jpeg;base64,"), UNREADABLE, id="jpeg-prefix"),
        pytest.param(lambda: "data:image/svg+xml;base64,PHN2Zy8+", UNREADABLE, id="svg"),
        pytest.param(lambda: base64.b64encode(png(canvas())).decode(), UNREADABLE, id="no-prefix"),
        pytest.param(lambda: PREFIX + "iVBORw0KGgo@@@", UNREADABLE, id="bad-characters"),
        pytest.param(lambda: PREFIX + "iVBORw0KGgoA", UNREADABLE, id="bad-padding"),
        pytest.param(lambda: data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * 200), UNREADABLE, id="broken-png"),
        pytest.param(lambda: data_url(png(canvas())[:-40]), UNREADABLE, id="truncated-png"),
        pytest.param(lambda: data_url(_big_png()), TOO_BIG, id="over-1mb"),
        pytest.param(lambda: PREFIX + "A" * 2_000_000, TOO_BIG, id="huge-field"),
        pytest.param(lambda: data_url(png(canvas((60, 40)))), ODD_SIZE, id="too-small"),
        pytest.param(lambda: data_url(png(canvas((3000, 400)))), ODD_SIZE, id="too-wide"),
    ],
)
def test_a_bad_signature_is_refused_with_a_clear_message_and_nothing_written(world, make, message):
    case = open_case(world)
    before = door_state(case)
    with pytest.raises(ValidationError) as caught:
        services.step_complete(actor=acting(world.staff_a1), case=case, step=Step.DOOR_VISIT,
                               pledge_signature=make(), now=at(10, 14), **TICKED)
    assert caught.value.message_dict == {"pledge_signature": [message]}
    assert door_state(case) == before


def _tap() -> Image.Image:
    image = canvas(stroke=False)
    ImageDraw.Draw(image).ellipse([(400, 200), (404, 204)], fill="#111")
    return image


def test_both_or_neither_is_refused(world):
    case = open_case(world)
    staff = acting(world.staff_a1)
    before = door_state(case)
    with pytest.raises(ValidationError) as caught:
        services.step_complete(actor=staff, case=case, step=Step.DOOR_VISIT, pledge_photo=photo(),
                               pledge_signature=signature(), now=at(10, 14), **TICKED)
    assert caught.value.message_dict == {"pledge_signature": ["照片和屏幕签名只需一种,请去掉其中一种"]}
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as caught:
            services.step_complete(actor=staff, case=case, step=Step.DOOR_VISIT, pledge_signature=blank,
                                   now=at(10, 14), **TICKED)
        assert caught.value.message_dict == {"pledge_photo": ["请拍下签好的隔离承诺书上传,或请本人在屏幕上签名"]}
    assert door_state(case) == before


def test_the_boxes_are_checked_before_the_signature(world):
    case = open_case(world)
    before = door_state(case)
    with pytest.raises(ValidationError) as caught:
        services.step_complete(actor=acting(world.staff_a1), case=case, step=Step.DOOR_VISIT,
                               pledge_signature=PREFIX + "@@", health_form=True, kit_given=True, now=at(10, 14))
    assert list(caught.value.message_dict) == ["step"]
    assert door_state(case) == before


# The page


def test_signing_on_the_case_page(client, world):
    case = open_case_today(world, world.household_a1, name="周来沪", number=ARRIVAL_ID)
    client.force_login(world.staff_a1)
    page = client.get(reverse("isolation:case", args=[case.pk])).content.decode()
    # The pad, its key sentence with the end day, the clear button and the script; the photo stays.
    assert 'id="signature-pad"' in page and "重写" in page and "isolation/signature.js" in page
    assert "每日如实报告体温,不外出" in page and case.ends_on.isoformat() in page
    assert "本人承诺居家隔离14天" in page
    assert 'name="pledge_photo"' in page and 'name="pledge_signature"' in page
    # Without the script only the photo upload shows: the pad and the choice start hidden.
    assert '<div class="pledge-pad" hidden>' in page and '<div class="pledge-modes radios" hidden>' in page
    url = reverse("isolation:step_complete", args=[case.pk, Step.DOOR_VISIT])
    ticked = {"health_form": "on", "pledge_signed": "on", "kit_given": "on", "note": "本人签名"}

    blank = client.post(url, ticked | {"pledge_signature": data_url(png(canvas(stroke=False)))})
    assert blank.status_code == 200 and BLANK in blank.content.decode()
    assert not CaseStep.objects.get(case=case, step=Step.DOOR_VISIT).done_at

    # A box left unticked: refused, and the signature comes back to the pad to be sent again.
    sig = signature()
    unticked = client.post(url, ticked | {"kit_given": "", "pledge_signature": sig})
    assert "上门时须填写健康登记表" in unticked.content.decode()
    assert unticked.context["signature_again"] == sig and f'value="{sig}"' in unticked.content.decode()

    done = client.post(url, ticked | {"pledge_signature": sig})
    assert done.status_code == 302
    step = CaseStep.objects.get(case=case, step=Step.DOOR_VISIT)
    assert (step.done_by, step.pledge_kind, step.note) == (world.staff_a1, PledgeKind.SIGNATURE, "本人签名")
    page = client.get(reverse("isolation:case", args=[case.pk])).content.decode()
    assert "查看本人屏幕签名" in page and 'data-kind="signature"' in page
    shown = client.get(reverse("isolation:pledge_photo", args=[case.pk]))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(b"".join(shown.streaming_content))).size == (800, 400)
    event = AuditEvent.objects.get(action="isolation_pledge_view")
    assert (event.personal, event.detail) == (True, {"pledge": "signature"})
    # Other committees see neither the page nor the signature.
    client.force_login(world.staff_a2)
    assert client.get(reverse("isolation:pledge_photo", args=[case.pk])).status_code == 404
    assert timezone.localdate(step.done_at) == timezone.localdate()
