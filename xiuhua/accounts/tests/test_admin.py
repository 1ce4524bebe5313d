"""The admin as the system administrator sees it: titled for xiuhua, in Chinese, and without what
staff should not touch (groups and permissions, the task queue, axes' raw logs)."""

import re
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse

from xiuhua.accounts.models import LoginLockout, User

# English that Django, django-axes and django-tasks show when left untranslated or unconfigured.
ENGLISH = (
    "Django 站点管理员", "Django 管理", "Django administration", "Django site admin", "Site administration",
    "Axes", "Access attempt", "access attempt", "Access log", "access log", "Access failure", "access failure",
    "Tasks Database Backend", "Task Result", "Authentication and Authorization",
    "Can add ", "Can change ", "Can delete ", "Can view ",
    "Model name", "Add link", "Change or view list link",
    "After you’ve created a user", "First, enter a username and password",
    "Attempt Time", "IP Address", "User Agent", "HTTP Accept", "Failed Logins", "Form Data", "Meta Data",
    "Locked Out", "Not set", "Clean up expired attempts", "GET Data", "POST Data",
    ">Parent<", ">Parent:<", ">Committee<", ">Committee:<", ">Org unit<", ">Grid<", "xiuhua<",
)
CJK = re.compile(r"[\u4e00-\u9fff]")


class Labels(HTMLParser):
    """The text of every column header of the change list, form label and fieldset title."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.labels: list[str] = []
        self.current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if (tag == "th" and attrs.get("scope") == "col") or (tag == "label" and attrs.get("for")) or (
                tag == "h2" and self.stack and self.stack[-1] == "fieldset"):
            self.current = []
        if tag in ("fieldset",):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("th", "label", "h2") and self.current is not None:
            text = " ".join("".join(self.current).split())
            if text:
                self.labels.append(text)
            self.current = None
        if tag == "fieldset" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.current is not None:
            self.current.append(data)


def labels_of(body: str) -> list[str]:
    parser = Labels()
    parser.feed(body)
    return parser.labels


def admin_pages(superuser) -> list[tuple[str, str]]:
    pages = [("index", reverse("admin:index"))]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append((f"{info[0]}.{info[1]} list", reverse("admin:{}_{}_changelist".format(*info))))
        pages.append((f"{info[0]}.{info[1]} add", reverse("admin:{}_{}_add".format(*info))))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            pages.append((f"{info[0]}.{info[1]} change", reverse("admin:{}_{}_change".format(*info), args=[row.pk])))
    return pages


@pytest.fixture
def superuser(world):
    AccessAttempt.objects.create(username="staff_a1", ip_address="10.0.0.8", user_agent="test", http_accept="*/*",
                                 path_info="/accounts/login/", failures_since_start=5, get_data="", post_data="")
    return User.objects.create_superuser("root", "root@example.com", "x")


def test_the_admin_shows_staff_only_what_they_should_touch():
    shown = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    for hidden in ("auth.group", "auth.permission", "axes.accessattempt", "axes.accesslog",
                   "axes.accessfailurelog", "django_tasks_database.dbtaskresult"):
        assert hidden not in shown
    assert {"accounts.user", "accounts.loginlockout", "places.orgunit", "places.grid"} <= shown


def test_every_admin_page_is_titled_for_xiuhua_and_speaks_chinese(client, superuser):
    client.force_login(superuser)
    problems = []
    for name, url in admin_pages(superuser):
        response = client.get(url)
        if response.status_code == 403:  # no add page (keys issued by command, lockouts by axes)
            assert name.endswith(" add"), name
            continue
        assert response.status_code == 200, (name, response.status_code)
        body = response.content.decode()
        assert "<title>" in body and "绣花针社区防控" in body.split("</title>")[0], name
        problems += [(name, english) for english in ENGLISH if english in body]
        problems += [(name, label) for label in labels_of(body) if not CJK.search(label)]
    assert problems == []


def test_a_locked_out_login_is_unlocked_from_the_admin(client, superuser):
    client.force_login(superuser)
    lockout = LoginLockout.objects.get(username="staff_a1")
    body = client.get(reverse("admin:accounts_loginlockout_changelist")).content.decode()
    assert "staff_a1" in body and "10.0.0.8" in body and "连续失败次数" in body
    response = client.post(reverse("admin:accounts_loginlockout_changelist"),
                           {"action": "unlock", "_selected_action": [lockout.pk]}, follow=True)
    assert "已解除 1 条锁定。" in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_the_user_page_hides_groups_and_permissions(client, superuser, world):
    client.force_login(superuser)
    body = client.get(reverse("admin:accounts_user_change", args=[world.staff_a1.pk])).content.decode()
    assert 'name="groups"' not in body and 'name="user_permissions"' not in body
    assert 'name="memberships-0-role"' in body and 'name="mobile"' in body
