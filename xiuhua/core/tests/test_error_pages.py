"""404, 403, 500, 400 and a refused form (CSRF) answer in the site's look and language, saying
what to do next; every 404 is the same page, whatever the address, so a wrong door code or
follow-up token is not told apart from any other missing page."""

import re

from django.test import Client, RequestFactory
from django.views import defaults

from xiuhua.testing import make_user

ENGLISH_DJANGO = ("Not Found", "The requested resource was not found", "403 Forbidden", "Server Error",
                  "CSRF verification failed", "Bad Request")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_missing_page_says_what_to_do_next_for_staff_and_residents(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    text = text_of(response)
    assert "页面不存在" in text
    assert "请直接致电您所在的居委会" in text and "求助 周三透析需要车" in text and "拨打120" in text
    assert "回到首页" in text
    assert 'href="/static/xiuhua/site' in response.content.decode()
    assert not any(english in text for english in ENGLISH_DJANGO)


def test_a_dead_follow_up_link_is_the_same_page_as_any_missing_page(client, db):
    missing = client.get("/no-such-page/")
    for path in ("/help/t/" + "x" * 24 + "/", "/help/d/1-ABCDEFGH/", "/masks/c/NOPE/", "/arrive/c/NOPE/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.content == missing.content, path
    assert "xxxxxxxx" not in missing.content.decode()


def test_a_page_the_role_cannot_open_names_the_role_and_whom_to_ask(client, world):
    client.force_login(world.pharmacy_clerk)
    response = client.get("/places/")
    assert response.status_code == 403
    text = text_of(response)
    assert "没有权限打开这个页面" in text
    assert "您当前的身份是“长海路街道 · 指定药店店员”" in text
    assert "请联系街道防控办或系统管理员" in text
    assert not any(english in text for english in ENGLISH_DJANGO)


def test_a_user_without_a_role_is_told_to_ask_for_one(client, world):
    client.force_login(world.no_role)
    text = text_of(client.get("/places/"))
    assert "您的账号尚未分配任何职务" in text


def test_a_server_error_is_the_sites_page():
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    text = text_of(response)
    assert "系统出错了" in text and "请联系系统管理员" in text
    assert not any(english in text for english in ENGLISH_DJANGO)


def test_a_bad_request_is_the_sites_page():
    response = defaults.bad_request(RequestFactory().get("/"), exception=None)
    assert response.status_code == 400 and "请求有误" in text_of(response)


def test_a_refused_form_says_to_reload_and_submit_again(world):
    make_user("csrf_user", "committee_staff", world.committee_a1)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "csrf_user", "password": "x"})
    assert response.status_code == 403
    text = text_of(response)
    assert "页面已过期,未能提交" in text and "刷新后重新填写提交" in text
    assert not any(english in text for english in ENGLISH_DJANGO)
