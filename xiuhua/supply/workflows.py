"""The declared state tables (core.workflow) of group buying: a leader's application, a filing
(报备) and a complaint. The committee's staff (REVIEW_GROUPBUY) of the row's committee decide;
the leader's own moves (resubmitting a filing from the phone) are system actions called by a
service that has matched the proven phone to the approved leader."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import (
    Complaint,
    ComplaintStatus,
    Filing,
    FilingStatus,
    Leader,
    LeaderStatus,
    Offer,
    OfferStatus,
    Order,
    OrderStatus,
    Poll,
    PollStatus,
)

L, F, C = LeaderStatus, FilingStatus, ComplaintStatus

LEADER = Workflow(
    Leader, name="groupbuy_leader", states=L, label=lambda leader: str(leader),
    actions={
        "approve": Action({L.APPLIED}, L.APPROVED, Cap.REVIEW_GROUPBUY, label=_("批准")),
        "refuse": Action({L.APPLIED}, L.REFUSED, Cap.REVIEW_GROUPBUY, label=_("不批准")),
    },
)

FILING = Workflow(
    Filing, name="groupbuy_filing", states=F, label=lambda filing: filing.number,
    actions={
        "approve": Action({F.SUBMITTED}, F.APPROVED, Cap.REVIEW_GROUPBUY, label=_("通过")),
        "request_changes": Action({F.SUBMITTED}, F.CHANGES_REQUESTED, Cap.REVIEW_GROUPBUY, label=_("退回修改")),
        "refuse": Action({F.SUBMITTED}, F.REFUSED, Cap.REVIEW_GROUPBUY, label=_("不通过")),
        # The leader, on the phone, sends a corrected filing back.
        "resubmit": Action({F.CHANGES_REQUESTED}, F.SUBMITTED, system=True, label=_("重新提交")),
        # Committee staff send it back on the leader's behalf (a leader without a smartphone).
        "resubmit_for": Action({F.CHANGES_REQUESTED}, F.SUBMITTED, Cap.REVIEW_GROUPBUY, label=_("代为重新提交")),
    },
)

COMPLAINT = Workflow(
    Complaint, name="groupbuy_complaint", states=C, label=lambda complaint: str(complaint),
    actions={
        "handle": Action({C.OPEN}, C.HANDLED, Cap.REVIEW_GROUPBUY, label=_("处理完毕")),
    },
)


# Offers, votes, orders and delivery (models_orders). Residents' own moves (cancelling their order
# before orders close) are system actions called after the phone is proven; staff act with
# RUN_GROUPBUY (the committee), ORDER_FOR_RESIDENT (a building lead, a call taken) or
# DELIVER_ORDERS (whoever carries the order to the door).
P, OS, R = PollStatus, OfferStatus, OrderStatus

POLL = Workflow(
    Poll, name="groupbuy_poll", states=P, label=lambda poll: poll.title,
    actions={
        "close": Action({P.OPEN}, P.CLOSED, Cap.RUN_GROUPBUY, label=_("截止投票")),
        # The sweep, at the poll's closing time.
        "close_on_time": Action({P.OPEN}, P.CLOSED, system=True, label=_("投票到时截止")),
        "cancel": Action({P.OPEN}, P.CANCELLED, Cap.RUN_GROUPBUY, label=_("取消投票")),
    },
)

OFFER = Workflow(
    Offer, name="groupbuy_offer", states=OS, label=lambda offer: offer.title,
    actions={
        "close": Action({OS.OPEN}, OS.CLOSED, Cap.RUN_GROUPBUY, label=_("截单")),
        "close_on_time": Action({OS.OPEN}, OS.CLOSED, system=True, label=_("到时截单")),
        # At the gate: checked against the filing, packs counted, any shortage shared out.
        "arrive": Action({OS.CLOSED}, OS.ARRIVED, Cap.RUN_GROUPBUY, label=_("到货核对")),
        "disinfect": Action({OS.ARRIVED}, OS.DISINFECTED, Cap.RUN_GROUPBUY, label=_("消杀登记")),
        "sort": Action({OS.DISINFECTED}, OS.SORTED, Cap.RUN_GROUPBUY, label=_("分拣完成")),
        # The last order carried to its door ends the offer.
        "finish": Action({OS.SORTED}, OS.DONE, system=True, label=_("全部送达")),
        "cancel": Action({OS.OPEN, OS.CLOSED}, OS.CANCELLED, Cap.RUN_GROUPBUY, label=_("取消接龙")),
    },
)

ORDER = Workflow(
    Order, name="groupbuy_order", states=R, label=lambda order: str(order),
    actions={
        "cancel": Action({R.PLACED}, R.CANCELLED, system=True, label=_("取消订单")),
        "cancel_for": Action({R.PLACED}, R.CANCELLED, Cap.ORDER_FOR_RESIDENT, label=_("代为取消订单")),
        # The shortage rule gave it nothing (at the gate check). A cancelled offer's orders are cancelled.
        "leave_unfilled": Action({R.PLACED}, R.UNFILLED, system=True, label=_("缺货未配")),
        "deliver": Action({R.PLACED}, R.DELIVERED, Cap.DELIVER_ORDERS, label=_("确认送达")),
    },
)
