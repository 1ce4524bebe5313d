"""Background delivery of SMS, run by the task worker (`manage.py db_worker`).

The task takes the message id only: the phone and text stay in the outbox row, never in the
task table.
"""

from django_tasks import task

from .services import sms_deliver


@task()
def deliver_sms(sms_id: int) -> str:
    """One attempt; a temporary failure re-enqueues this task for the next_attempt_at."""
    return sms_deliver(sms_id=sms_id)
