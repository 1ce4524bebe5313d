"""Every text message names its purpose in words on the SMS page: each purpose an app sends with
is registered (sms.texts.register_purpose), read from the code so a new one cannot be missed."""

import ast
import importlib
from pathlib import Path

import xiuhua
from xiuhua.sms.texts import purpose_label, registered_purposes

SENDERS = {"sms_send", "sms_send_staff", "sms_send_many", "Reply", "BulkMessage"}
ROOT = Path(xiuhua.__file__).parent


def purposes_in_code() -> list[tuple[str, int, object]]:
    """(module, line, purpose) for every literal or module-constant purpose given to a sender."""
    found: list[tuple[str, int, object]] = []
    for path in sorted(ROOT.rglob("*.py")):
        if {"tests", "migrations"} & set(path.parts):
            continue
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in SENDERS:
                continue
            for keyword in node.keywords:
                if keyword.arg != "purpose":
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant):
                    found.append((module, node.lineno, value.value))
                elif isinstance(value, ast.Name) and value.id.isupper():
                    found.append((module, node.lineno, getattr(importlib.import_module(module), value.id)))
    return found


def test_every_purpose_sent_with_is_registered_with_words():
    found = purposes_in_code()
    assert len(found) > 20  # the scan sees the apps' senders
    missing = sorted({(module, line, purpose) for module, line, purpose in found
                      if purpose not in registered_purposes()})
    assert missing == []


def test_labels_are_words_and_one_time_codes_need_none():
    assert purpose_label("masks_reply") == "口罩短信预约回复"
    assert purpose_label("isolation_alert") == "居家隔离预警"
    assert purpose_label("otp_login") == "验证码"
    assert purpose_label("something_unregistered") == "something_unregistered"
