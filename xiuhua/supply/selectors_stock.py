"""Reads of donations, loans and stock shared by pages and the first page."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from .models_stock import Loan


def overdue_loans(user, today: dt.date | None = None):
    """Loans past their due date and not all returned, as the user may see them."""
    today = today or timezone.localdate()
    return Loan.objects.visible_to(user).filter(due_on__lt=today, returned__lt=F("quantity"))
