"""Background delivery of SMS, run by the task worker (`manage.py db_worker`).

The tasks take a message id or nothing: the phone and text stay in the outbox row, never in the
task table.
"""

from django_tasks import task

from .services import sms_deliver, sms_deliver_due


# Ahead of the batch tasks: a one-time code is not kept waiting behind a street's notices.
@task(priority=10)
def deliver_sms(sms_id: int) -> str:
    """One attempt; a temporary failure re-enqueues this task for the next_attempt_at."""
    return sms_deliver(sms_id=sms_id)


@task()
def deliver_due_sms() -> int:
    """Due messages in batches (sms_send_many's fan-out, retries, what the sweep found lost),
    for a few seconds, then a successor task if any are left; returns how many were claimed."""
    return sms_deliver_due()
