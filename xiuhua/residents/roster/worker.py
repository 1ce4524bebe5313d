"""What the roster services hand to the task worker: the encrypted payload it reads, the task,
the user it acts as, and the progress it reports."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable

from django.db import transaction

from xiuhua.core.access import active_membership
from xiuhua.core.crypto import decrypt_text, encrypt_text

from ..models import RosterImport


def seal(data: bytes) -> str:
    return encrypt_text(base64.b64encode(zlib.compress(data, 1)).decode("ascii"))


def unseal(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(decrypt_text(token)))


def progress_reporter(roster_import: RosterImport) -> Callable[[int], None]:
    def report(done: int) -> None:
        RosterImport.objects.filter(pk=roster_import.pk).update(rows_done=done)
    return report


def enqueue(task_name: str, *args) -> None:
    from xiuhua.residents import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.enqueue(*args))


def actor_ids(actor) -> tuple[int | None, int | None]:
    if actor is None:
        return None, None
    membership = active_membership(actor)
    return actor.pk, membership.pk if membership else None
