"""Outbound and inbound SMS, and one-time codes.

The outbound table is the outbox: one row per logical message, found again by its idempotency
key. Every status here moves only along its table in workflows.py (core.workflow.move): the
outbox's by `services.sms_deliver`, the delivery reports and the sweep.
"""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from xiuhua.core.crypto import mask_phone
from xiuhua.core.scoping import ScopedQuerySet
from xiuhua.places.models import OrgUnit


class SmsQuerySet(ScopedQuerySet):
    """Rows with a committee are seen by staff covering it; rows without one (codes, replies to
    unknown senders) are on no staff page."""

    scope_committee = "committee"
    scope_cap = "view_sms"


class OutboundSms(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("失败")

    phone = models.CharField(_("手机号码"), max_length=20)
    template = models.CharField(_("模板"), max_length=64)
    # Secret parameters (the code of a one-time code) are replaced by ****** once the message
    # has been sent or has failed; `text` likewise.
    params = models.JSONField(_("参数"), default=dict, blank=True)
    text = models.TextField(_("内容"))
    purpose = models.CharField(_("用途"), max_length=32)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("上次尝试"), null=True, blank=True)
    provider_message_id = models.CharField(_("服务商回执号"), max_length=64, blank=True, default="")
    last_error = models.CharField(_("错误信息"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    failed_at = models.DateTimeField(_("失败时间"), null=True, blank=True)
    committee = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The same logical message (a code request, the reply to one inbound SMS, one voucher) is
    # queued once: a second sms_send with the key returns the first row.
    idempotency_key = models.CharField(max_length=200, unique=True)

    objects = SmsQuerySet.as_manager()

    class Meta:
        verbose_name = _("发出的短信")
        verbose_name_plural = _("发出的短信")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="outboundsms_provider_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["committee", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.template} #{self.pk} ({self.status})"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def purpose_label(self) -> str:
        """The purpose in words, as the sending app registered it (sms.texts.register_purpose)."""
        from .texts import purpose_label

        return purpose_label(self.purpose)

    @property
    def display_text(self) -> str:
        """The text for staff pages: secrets as ******, long numbers masked."""
        from .texts import mask_numbers, render

        try:
            text = render(self.template, self.params, masked=True)
        except ValueError:
            text = self.text
        return mask_numbers(text)


class InboundSms(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("已接收")
        HANDLED = "handled", _("已处理")
        UNRECOGNISED = "unrecognised", _("未识别")
        ERROR = "error", _("处理出错")

    class Source(models.TextChoices):
        PROVIDER = "provider", _("短信服务商")
        SIMULATED = "simulated", _("模拟")

    phone = models.CharField(_("手机号码"), max_length=20)
    text = models.TextField(_("内容"))
    # Unique: a replayed or re-pushed message is refused, never handled twice.
    provider_message_id = models.CharField(_("服务商消息号"), max_length=64, unique=True)
    # The provider's receive time, exactly as it said (with its fraction of a second): SMS
    # reservations are ordered by it. The string it sent is kept beside it.
    received_at = models.DateTimeField(_("接收时间"), db_index=True)
    received_at_raw = models.CharField(max_length=64, blank=True, default="")
    stored_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.PROVIDER)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    handler = models.CharField(_("处理程序"), max_length=100, blank=True, default="")
    reply = models.TextField(_("回复"), blank=True, default="")
    error = models.CharField(_("错误信息"), max_length=300, blank=True, default="")
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    # Set by the handler (the committee the message turned out to concern) or by the staff
    # page's simulated inbox; empty for messages that concern no committee.
    committee = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = SmsQuerySet.as_manager()

    class Meta:
        verbose_name = _("收到的短信")
        verbose_name_plural = _("收到的短信")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["committee", "-received_at"]), models.Index(fields=["status", "stored_at"])]

    def __str__(self) -> str:
        return f"inbound #{self.pk} ({self.status})"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def display_text(self) -> str:
        from .texts import mask_numbers

        return mask_numbers(self.text)

    @property
    def display_reply(self) -> str:
        from .texts import mask_numbers

        return mask_numbers(self.reply)


class OtpCode(models.Model):
    """A one-time code: only its keyed hash is stored, and the phone and address only hashed."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        USED = "used", _("已使用")
        DEAD = "dead", _("已作废")
        SUPERSEDED = "superseded", _("已被新验证码取代")

    phone_hash = models.CharField(max_length=64, db_index=True)
    ip_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    purpose = models.CharField(max_length=32)
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    wrong_attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    used_at = models.DateTimeField(null=True, blank=True)
    sms = models.ForeignKey(OutboundSms, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("验证码")
        verbose_name_plural = _("验证码")
        indexes = [models.Index(fields=["phone_hash", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"otp #{self.pk} {self.purpose} ({self.status})"


class DevDelivery(models.Model):
    """What the dev backend "delivered": the handset it stands in for, so a demo or a training
    can read a one-time code or a follow-up link that the outbox keeps only masked. Written only
    by the dev backend (never with a real provider), read only by the system administrator, and
    kept one day."""

    KEEP = dt.timedelta(days=1)

    sms = models.OneToOneField(OutboundSms, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(_("手机号码"), max_length=20)
    text = models.TextField(_("内容"))
    delivered_at = models.DateTimeField(_("送达时间"), db_index=True)

    class Meta:
        verbose_name = _("开发通道送达的短信")
        verbose_name_plural = verbose_name
        ordering = ["-delivered_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.masked_phone} {self.delivered_at:%Y-%m-%d %H:%M}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)
