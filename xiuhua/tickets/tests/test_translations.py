"""Every text the work-order pages show is translatable, and every text with a count is a plural
form (ngettext / blocktranslate count), so English never reads "11 day(s)"."""

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
# A number of things: a count placeholder next to a Chinese measure word.
COUNTED = re.compile(r"(%\((n|count|days|minutes|max|people)\)d|\{\{ ?(n|count|days|minutes|max_rows) ?\}\})")
GETTEXT = {"_", "gettext", "gettext_lazy"}
PLURAL = {"ngettext", "ngettext_lazy", "npgettext", "npgettext_lazy"}
TRANSLATED = GETTEXT | PLURAL | {"pgettext", "pgettext_lazy"}
TEMPLATE_TRANSLATED = re.compile(
    r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}|{%\s*translate\s+(\"[^\"]*\"|'[^']*').*?%}"
    r"|{#.*?#}|_\(\"[^\"]*\"\)", re.S,
)
# Not shown on a page in the user's language: SMS texts (sent in Chinese), the hotline import's
# column spellings and words, the printed door cards, demo rows, parsing patterns, API field docs.
NOT_PAGES = {"demo.py", "imports.py", "sms_help.py", "notify.py", "printing.py", "api.py", "escalation.py"}


def _templates():
    return sorted((APP / "templates").rglob("*.html"))


def test_no_template_shows_chinese_outside_a_translation_tag():
    untranslated = []
    for path in _templates():
        rest = TEMPLATE_TRANSLATED.sub("", path.read_text())
        rest = rest.replace('value="zh-hans">中文<', "")  # the language switch names itself
        untranslated += [f"{path.name}: {line.strip()[:80]}" for line in rest.splitlines() if CJK.search(line)]
    assert untranslated == []


def test_template_texts_with_a_count_are_plural_forms():
    singular = []
    for path in _templates():
        for tag in re.findall(r"{%\s*blocktranslate(.*?)%}(.*?){%\s*endblocktranslate\s*%}", path.read_text(), re.S):
            if " count " not in f" {tag[0]} " and COUNTED.search(tag[1]) and CJK.search(tag[1]):
                singular.append(f"{path.name}: {tag[1][:60]}")
    assert singular == []


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            yield name, node


def test_code_texts_with_a_count_are_plural_forms_and_page_texts_are_translatable():
    singular, untranslated = [], []
    for path in sorted(APP.glob("*.py")):
        tree = ast.parse(path.read_text())
        translated = set()
        for name, call in _calls(tree):
            if name in TRANSLATED:
                translated.update(id(arg) for arg in call.args)
            if name in GETTEXT and call.args and isinstance(call.args[0], ast.Constant):
                text = str(call.args[0].value)
                if COUNTED.search(text) and CJK.search(text):
                    singular.append(f"{path.name}:{call.lineno} {text[:50]}")
        if path.name in NOT_PAGES:
            continue
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)
                    and id(node) not in translated and id(node) not in docstrings):
                untranslated.append(f"{path.name}:{node.lineno} {node.value[:50]}")
    assert singular == []
    assert untranslated == []


def test_every_text_message_of_the_module_names_its_purpose_in_words():
    from xiuhua.sms.texts import purpose_label

    for code, words in (
        ("ticket_received", "求助登记回执"), ("ticket_replied", "求助答复通知"), ("ticket_reminder", "工单督办提醒"),
        ("ticket_urge", "工单催办"), ("ticket_waiting", "紧急求助未受理提醒"), ("tickets_reply", "短信求助回复"),
    ):
        assert purpose_label(code) == words
    used = set()
    for path in APP.glob("*.py"):
        used.update(re.findall(r'purpose="([a-z_]+)"', path.read_text()))
    assert used == set(), used  # every purpose goes through its registered constant
