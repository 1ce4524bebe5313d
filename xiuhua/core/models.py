from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Every state change and every reveal or export of personal data.

    Holds ids and masked values only: the audit trail must not become a second copy of the
    personal data it protects.
    """

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_role = models.CharField(_("角色"), max_length=32, blank=True)
    # Indexed in Meta: a plain index (db_index would add a second, LIKE-pattern one, which no
    # query uses, to every audited write).
    action = models.CharField(_("操作"), max_length=64)
    personal = models.BooleanField(_("涉及个人信息查看或导出"), default=False, help_text="A reveal or an export.")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    # No database constraint: it would lock the committee's row (FOR KEY SHARE) in every audited
    # transaction, and a burst of one committee's writes (an offer opening, a round's scans) would
    # queue its lockers into multixacts. Org units are PROTECTed and never deleted.
    committee = models.ForeignKey("places.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  db_constraint=False)
    subject_label = models.CharField(_("对象"), max_length=200, blank=True)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # The membership the actor acted through (an id: core sits below accounts), and, when it was a
    # temporary one (AB角临时代管, 第二书记), its kind, so such actions show as such.
    membership_id = models.BigIntegerField(null=True, blank=True)
    via_temporary = models.CharField(_("临时任职"), max_length=16, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [models.Index(fields=["personal", "committee", "-at"]),
                   models.Index(fields=["action"], name="core_auditevent_action")]
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class RateCounter(models.Model):
    """How many times a key was used in one fixed window. Keys are hashed (a client address or an
    actor id, never the looked-up value), and one upsert both counts and answers, so parallel
    requests on several workers cannot all slip under a limit (design rule 4)."""

    key = models.CharField(max_length=96)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="ratecounter_key_window")]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M}: {self.count}"


class LockRow(models.Model):
    """A row to lock by name, so that requests about one thing (a phone, a client address) queue
    up behind each other even when there is no other row to lock (core.locks)."""

    key = models.CharField(max_length=80, unique=True)
    touched_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return self.key


class SweepRun(models.Model):
    """When a periodic sweep (core.registry.Sweep) is next due and who runs it now. `run_periodic`
    takes a sweep with one conditional UPDATE on this row, so two processes, on one machine or
    several, never run the same sweep at once or twice in one interval."""

    name = models.CharField(_("任务"), max_length=64, unique=True)
    due_at = models.DateTimeField(_("下次运行"))
    running_until = models.DateTimeField(_("运行期限"), null=True, blank=True)
    holder = models.CharField(_("运行进程"), max_length=120, blank=True)
    last_started = models.DateTimeField(_("上次开始"), null=True, blank=True)
    last_finished = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_failed = models.BooleanField(_("上次失败"), default=False)
    # The exception's class only: a message could quote personal data.
    last_error = models.CharField(_("上次错误"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")

    def __str__(self) -> str:
        return self.name
