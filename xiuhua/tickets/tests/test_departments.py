"""A street's departments and routing rules: the services in departments.py and their pages."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, make_user
from xiuhua.tickets import departments as dept
from xiuhua.tickets.models import Department, RoutingRule

pytestmark = pytest.mark.django_db


def membership_of(user):
    return Membership.objects.get(user=user)


def state():
    return (
        sorted(Department.objects.values_list("pk", "street_id", "name", "head_id")),
        sorted(Department.members.through.objects.values_list("department_id", "membership_id")),
        sorted(RoutingRule.objects.values_list("street_id", "category", "committee_id", "department_id")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def staff(world):
    """Department staff of street A (two) and of street B (one)."""
    return {
        "a": make_user("dept_a", Role.DEPARTMENT_STAFF, world.street_a),
        "a2": make_user("dept_a2", Role.DEPARTMENT_STAFF, world.street_a),
        "b": make_user("dept_b", Role.DEPARTMENT_STAFF, world.street_b),
    }


# Services


def test_a_street_officer_builds_a_department(world, staff):
    street = acting(world.street_officer)
    health = dept.department_create(actor=street, street=world.street_a, name="  社区卫生 服务中心 ")
    assert (health.name, health.street) == ("社区卫生 服务中心", world.street_a)
    dept.department_member_add(actor=street, department=health, membership=membership_of(staff["a"]))
    dept.department_member_add(actor=street, department=health, membership=membership_of(staff["a2"]))
    dept.department_head_set(actor=street, department=health, head=membership_of(staff["a"]))
    health.refresh_from_db()
    assert health.head == membership_of(staff["a"])
    assert set(health.members.values_list("user__username", flat=True)) == {"dept_a", "dept_a2"}
    with pytest.raises(ValidationError) as caught:  # the head leaves only after a new head is set
        dept.department_member_remove(actor=street, department=health, membership=membership_of(staff["a"]))
    assert caught.value.message_dict == {"membership": ["dept_a是部门负责人,请先更换负责人"]}
    dept.department_member_remove(actor=street, department=health, membership=membership_of(staff["a2"]))
    assert list(health.members.values_list("user__username", flat=True)) == ["dept_a"]
    assert list(AuditEvent.objects.filter(object_id=health.pk).values_list("action", flat=True).order_by("pk")) == [
        "department_create", "department_member_add", "department_member_add", "department_head_set",
        "department_member_remove",
    ]


@pytest.mark.parametrize(
    "call, field, message",
    [
        ("create_blank", "name", "请填写部门名称"),
        ("create_twice", "name", "本街道已有“城运中心”"),
        ("add_committee_staff", "membership", "只能添加本街道的在岗人员"),
        ("add_other_street", "membership", "只能添加本街道的在岗人员"),
        ("add_twice", "membership", "dept_a已是本部门成员"),
        ("head_not_member", "head", "负责人须是本部门成员"),
        ("remove_not_member", "membership", "该人员不是本部门成员"),
    ],
)
def test_bad_department_edits_are_refused_and_write_nothing(world, staff, call, field, message):
    street = acting(world.street_officer)
    city = dept.department_create(actor=street, street=world.street_a, name="城运中心")
    dept.department_member_add(actor=street, department=city, membership=membership_of(staff["a"]))
    before = state()
    calls = {
        "create_blank": lambda: dept.department_create(actor=street, street=world.street_a, name=" "),
        "create_twice": lambda: dept.department_create(actor=street, street=world.street_a, name="城运中心"),
        "add_committee_staff": lambda: dept.department_member_add(
            actor=street, department=city, membership=membership_of(world.staff_a1)),
        "add_other_street": lambda: dept.department_member_add(
            actor=street, department=city, membership=membership_of(staff["b"])),
        "add_twice": lambda: dept.department_member_add(
            actor=street, department=city, membership=membership_of(staff["a"])),
        "head_not_member": lambda: dept.department_head_set(
            actor=street, department=city, head=membership_of(staff["a2"])),
        "remove_not_member": lambda: dept.department_member_remove(
            actor=street, department=city, membership=membership_of(staff["a2"])),
    }
    with pytest.raises(ValidationError) as caught:
        calls[call]()
    assert caught.value.message_dict == {field: [message]}
    assert state() == before


def test_only_the_streets_own_officer_edits_its_departments(world, staff):
    city = Department.objects.create(street=world.street_a, name="城运中心")
    before = state()
    for user in (world.staff_a1, world.street_officer_b, world.district_officer, staff["a"], world.volunteer):
        actor = acting(user)
        with pytest.raises(PermissionDenied):
            dept.department_create(actor=actor, street=world.street_a, name="房管所")
        with pytest.raises(PermissionDenied):
            dept.department_member_add(actor=actor, department=city, membership=membership_of(staff["a"]))
        with pytest.raises(PermissionDenied):
            dept.department_head_set(actor=actor, department=city, head=None)
        with pytest.raises(PermissionDenied):
            dept.routing_rules_save(actor=actor, street=world.street_a, changes=[])
    assert state() == before


def test_routing_rule_changes_land_together_or_not_at_all(world):
    street = acting(world.street_officer)
    city = Department.objects.create(street=world.street_a, name="城运中心")
    foreign = Department.objects.create(street=world.street_b, name="五角场城运")
    good = dept.RuleChange("food", None, city)
    bad = dept.RuleChange("medicine", world.committee_a1, foreign)
    with pytest.raises(ValidationError):
        dept.routing_rules_save(actor=street, street=world.street_a, changes=[good, bad])
    assert not RoutingRule.objects.exists()
    assert dept.routing_rules_save(actor=street, street=world.street_a, changes=[good]) == 1
    assert list(RoutingRule.objects.values_list("category", "committee_id", "department_id")) == [
        ("food", None, city.pk)]


# Pages


def rules_post(page_form, **cells):
    """The rules form as rendered (every cell and its 'was' value), with some cells changed."""
    data = {}
    for name, field in page_form.fields.items():
        value = page_form.initial.get(name, field.initial)
        data[name] = "" if value is None else str(value)
    for key, value in cells.items():
        data[f"r_{key}"] = value
    return data


def test_the_rules_table_sets_and_removes_rules(client, world):
    w = world
    health = Department.objects.create(street=w.street_a, name="社区卫生服务中心")
    city = Department.objects.create(street=w.street_a, name="城运中心")
    Department.objects.create(street=w.street_b, name="五角场城运")
    client.force_login(w.street_officer)
    url = reverse("tickets:rules")
    page = client.get(url)
    form = page.context["form"]
    assert [c.name for c in form.committees] == ["国和一村居委会", "国和二村居委会"]
    assert len([f for f in form.fields if f.startswith("r_")]) == 11 * 3
    body = page.content.decode()
    assert "五角场城运" not in body and "透析 · 国和二村居委会" in body and "无规则(派回本居委会)" in body

    response = client.post(url, rules_post(
        form, dialysis_street=str(health.pk), **{f"food_{w.committee_a2.pk}": str(city.pk)}))
    assert response.status_code == 302
    assert "已保存2处派单规则" in client.get(url).content.decode()
    assert sorted(RoutingRule.objects.values_list("category", "committee_id", "department_id")) == [
        ("dialysis", None, health.pk), ("food", w.committee_a2.pk, city.pk)]
    # The page shows them; emptying a cell removes its rule.
    form = client.get(url).context["form"]
    assert form["r_dialysis_street"].value() == str(health.pk)
    client.post(url, rules_post(form, **{f"food_{w.committee_a2.pk}": ""}))
    assert list(RoutingRule.objects.values_list("category", "committee_id")) == [("dialysis", None)]
    # Nothing changed: nothing written.
    before = state()
    client.post(url, rules_post(client.get(url).context["form"]))
    assert state() == before
    # Another street's department is not a choice.
    foreign = Department.objects.get(name="五角场城运")
    response = client.post(url, rules_post(client.get(url).context["form"], food_street=str(foreign.pk)))
    assert response.status_code == 200 and "只能派往本街道的部门" in response.content.decode()
    assert state() == before


def test_saving_the_rules_keeps_what_someone_else_changed_meanwhile(client, world):
    w = world
    health = Department.objects.create(street=w.street_a, name="社区卫生服务中心")
    city = Department.objects.create(street=w.street_a, name="城运中心")
    client.force_login(w.street_officer)
    url = reverse("tickets:rules")
    stale = client.get(url).context["form"]
    # A colleague sets the medicine rule after this page was shown.
    dept.routing_rules_save(actor=acting(w.street_officer), street=w.street_a,
                            changes=[dept.RuleChange("medicine", None, city)])
    client.post(url, rules_post(stale, dialysis_street=str(health.pk)))
    assert sorted(RoutingRule.objects.values_list("category", "department_id")) == [
        ("dialysis", health.pk), ("medicine", city.pk)]


def test_the_departments_page(client, world, staff):
    w = world
    client.force_login(w.street_officer)
    url = reverse("tickets:departments")
    response = client.post(url, {"name": "社区卫生服务中心"})
    assert response.status_code == 302
    health = Department.objects.get(street=w.street_a)
    page = client.get(url)
    body = page.content.decode()
    assert "已新建部门:社区卫生服务中心" in body and f'id="department-{health.pk}"' in body
    [block] = page.context["blocks"]
    # Candidates: active memberships held at the street itself (no committee staff, no street B).
    assert {m.user.username for m in block["member_form"].fields["membership"].queryset} == {
        "dept_a", "dept_a2", "street_a", "pharmacy"}
    response = client.post(url, {"name": "社区卫生服务中心"})
    assert response.status_code == 200 and "本街道已有“社区卫生服务中心”" in response.content.decode()

    add = reverse("tickets:department_member_add", args=[health.pk])
    for user in (staff["a"], staff["a2"]):
        assert client.post(add, {"membership": membership_of(user).pk}).status_code == 302
    before = state()
    for user in (w.staff_a1, staff["b"], staff["a"]):  # committee staff, another street, already in
        response = client.post(add, {"membership": membership_of(user).pk})
        assert response.status_code == 200 and "只能添加本街道的在岗人员" in response.content.decode()
    assert state() == before

    head = reverse("tickets:department_head", args=[health.pk])
    assert client.post(head, {"head": membership_of(staff["a"]).pk}).status_code == 302
    health.refresh_from_db()
    assert health.head == membership_of(staff["a"])
    body = client.get(url).content.decode()
    assert re.search(r"dept_a <span class=\"muted\">[^<]+</span> <span class=\"tag\">负责人</span>", body)

    remove = reverse("tickets:department_member_remove", args=[health.pk])
    before = state()
    response = client.post(remove, {"membership": membership_of(staff["a"]).pk})
    assert response.status_code == 200 and "dept_a是部门负责人,请先更换负责人" in response.content.decode()
    response = client.post(remove, {"membership": membership_of(w.staff_a1).pk})
    assert response.status_code == 200 and "该人员不是本部门成员" in response.content.decode()
    assert state() == before
    assert client.post(remove, {"membership": membership_of(staff["a2"]).pk}).status_code == 302
    assert list(health.members.values_list("user__username", flat=True)) == ["dept_a"]
    assert client.post(head, {"head": ""}).status_code == 302
    health.refresh_from_db()
    assert health.head is None


def test_another_streets_department_is_not_found(client, world, staff):
    w = world
    health = Department.objects.create(street=w.street_a, name="社区卫生服务中心")
    health.members.add(membership_of(staff["a"]))
    client.force_login(w.street_officer_b)
    before = state()
    for name, data in (
        ("department_member_add", {"membership": membership_of(staff["b"]).pk}),
        ("department_member_remove", {"membership": membership_of(staff["a"]).pk}),
        ("department_head", {"head": ""}),
    ):
        assert client.post(reverse(f"tickets:{name}", args=[health.pk]), data).status_code == 404, name
    assert f'id="department-{health.pk}"' not in client.get(reverse("tickets:departments")).content.decode()
    assert state() == before
