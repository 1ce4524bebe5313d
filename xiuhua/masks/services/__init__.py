"""Every write of the mask module (rounds, pharmacies, stock, reservations, vouchers).

Each service takes keyword arguments and the acting user, runs in one transaction and writes an
audit event for each state change. Split by subject:

- rounds: rounds and their moves (workflows.MASK_ROUND), paper form books;
- pharmacies: designated pharmacies, the committees they serve, their clerks;
- reservations: the one entry for all channels, verification queue;
- vouchers: deliveries, issuing (the allocation), redemption, expiry.
"""

from .pharmacies import (
    pharmacy_add_clerk,
    pharmacy_assign_committee,
    pharmacy_clerk_create,
    pharmacy_create,
    pharmacy_deactivate,
    pharmacy_remove_clerk,
    pharmacy_set_committees,
    pharmacy_update,
)
from .reservations import (
    SPECIAL_TAGS,
    reservation_reject,
    reservation_submit,
    reservation_verify,
)
from .rounds import (
    paper_book_create,
    round_close,
    round_create,
    round_finish,
    round_move,
    round_open,
    round_update,
)
from .vouchers import lottery_key, stock_delivery_record, voucher_redeem, vouchers_expire, vouchers_issue

__all__ = [
    "SPECIAL_TAGS",
    "lottery_key",
    "paper_book_create",
    "pharmacy_add_clerk",
    "pharmacy_assign_committee",
    "pharmacy_clerk_create",
    "pharmacy_create",
    "pharmacy_deactivate",
    "pharmacy_remove_clerk",
    "pharmacy_set_committees",
    "pharmacy_update",
    "reservation_reject",
    "reservation_submit",
    "reservation_verify",
    "round_close",
    "round_create",
    "round_finish",
    "round_move",
    "round_open",
    "round_update",
    "stock_delivery_record",
    "voucher_redeem",
    "vouchers_expire",
    "vouchers_issue",
]
