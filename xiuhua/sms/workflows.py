"""The SMS gateway's declared state tables (core.workflow): outbound messages, inbound messages
and one-time codes.

Every action is the system's: the delivery worker, the provider's delivery reports, the inbound
dispatcher, and a resident proving a phone by its code. Each service has authenticated whoever
stands behind the call (a signed webhook, the code itself) and moves with actor=None. The audit
events name the row by its template or purpose and id, never by a phone number, code or text.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.core.workflow import Action, Workflow

from .models import InboundSms, OtpCode, OutboundSms

Outbound = OutboundSms.Status

SMS = Workflow(
    OutboundSms, name="sms", field="status", states=Outbound, label=lambda sms: f"{sms.template} #{sms.pk}",
    actions={
        # A worker takes the message for one attempt; a second worker finds it taken.
        "claim": Action({Outbound.QUEUED}, Outbound.SENDING, system=True, label=_("开始发送")),
        "hand_over": Action({Outbound.SENDING}, Outbound.SENT, system=True, label=_("交给服务商")),
        "retry": Action({Outbound.SENDING}, Outbound.QUEUED, system=True, label=_("稍后重试")),
        "fail": Action({Outbound.SENDING}, Outbound.FAILED, system=True, label=_("发送失败")),
        # The worker stopped mid-send: the provider may have the message, so it is not resent.
        "abandon": Action({Outbound.SENDING}, Outbound.FAILED, system=True, label=_("放弃发送")),
        "report_delivered": Action({Outbound.SENT}, Outbound.DELIVERED, system=True, label=_("回执:已送达")),
        "report_failed": Action({Outbound.SENT}, Outbound.FAILED, system=True, label=_("回执:未送达")),
    },
)

Inbound = InboundSms.Status

INBOUND_SMS = Workflow(
    InboundSms, name="inbound_sms", field="status", states=Inbound, label=lambda message: f"inbound #{message.pk}",
    actions={
        "handle": Action({Inbound.RECEIVED}, Inbound.HANDLED, system=True, label=_("处理")),
        "mark_unrecognised": Action({Inbound.RECEIVED}, Inbound.UNRECOGNISED, system=True, label=_("未识别")),
        "fail": Action({Inbound.RECEIVED}, Inbound.ERROR, system=True, label=_("处理出错")),
    },
)

Code = OtpCode.Status

OTP = Workflow(
    OtpCode, name="otp", field="status", states=Code, label=lambda otp: f"{otp.purpose} #{otp.pk}",
    actions={
        "use": Action({Code.ACTIVE}, Code.USED, system=True, label=_("使用")),
        "exhaust": Action({Code.ACTIVE}, Code.DEAD, system=True, label=_("错误次数过多")),
        # A new code for the same phone and purpose replaces the old ones, as one batch.
        "supersede": Action({Code.ACTIVE}, Code.SUPERSEDED, system=True, label=_("被新验证码取代")),
    },
)

__all__ = ["INBOUND_SMS", "OTP", "SMS"]
