"""Templates, text normalisation, masking and the keyword registry (no database)."""

import pytest

from xiuhua.sms import handlers, texts


def test_the_otp_text_is_the_agreed_one_and_fits_one_segment(settings):
    settings.SMS_SIGN_NAME = "绣花针"
    text = texts.render("XH_OTP", {"code": "123456"})
    assert text == "【绣花针】验证码123456,5分钟内有效,请勿告诉他人。"
    assert texts.segments(text) == 1
    masked = texts.render("XH_OTP", {"code": "123456"}, masked=True)
    assert masked == "【绣花针】验证码******,5分钟内有效,请勿告诉他人。"


def test_every_builtin_text_fits_one_segment_with_the_sign(settings):
    settings.SMS_SIGN_NAME = "绣花针"
    assert texts.segments(texts.render("XH_REPLY", {"content": handlers.help_text(unrecognised=True)})) == 1
    assert texts.segments(texts.render("XH_REPLY", {"content": handlers.help_text()})) == 1


def test_segments_count_70_then_67_per_part():
    assert (texts.segments("字" * 70), texts.segments("字" * 71), texts.segments("字" * 134),
            texts.segments("字" * 135)) == (1, 2, 2, 3)


def test_render_refuses_unknown_templates_and_missing_parameters():
    with pytest.raises(ValueError, match="unknown SMS template"):
        texts.render("NOPE", {})
    with pytest.raises(ValueError, match="needs"):
        texts.render("XH_OTP", {})


def test_a_template_code_cannot_be_registered_twice_with_another_text():
    texts.register_template("XH_OTP", texts.OTP.text, secret_params=("code",))  # same: fine
    with pytest.raises(ValueError):
        texts.register_template("XH_OTP", "别的{code}")


def test_scrub_masks_only_secret_parameters():
    assert texts.scrub_params("XH_OTP", {"code": "123456"}) == {"code": "******"}
    assert texts.scrub_params("XH_REPLY", {"content": "好的"}) == {"content": "好的"}


@pytest.mark.parametrize(
    ("raw", "normalised", "compact"),
    [
        ("ＨＥＬＰ", "HELP", "HELP"),
        ("  帮　助 ", "帮 助", "帮助"),
        ("预约　５号　３０２室", "预约 5号 302室", "预约5号302室"),
        ("help me", "help me", "HELPME"),
    ],
)
def test_normalise_keeps_chinese_and_folds_width_and_spaces(raw, normalised, compact):
    assert texts.normalise_text(raw) == normalised
    assert texts.compact_text(raw) == compact


def test_long_numbers_are_masked_in_free_text():
    assert texts.mask_numbers("电话13812345678,证件310110198005170011") == "电话138****5678,证件310*************11"
    assert texts.mask_numbers("证件31011019800517001X 序号20200205 验证码123456") == (
        "证件310*************1X 序号20200205 验证码123456"
    )


@pytest.mark.parametrize("text", ["帮助", "帮 助。", "ｈｅｌｐ", "Help", "？", "?", "帮助!"])
def test_the_help_keyword_matches_however_it_is_typed(text):
    found = handlers.find_handler(text)
    assert found is not None and found[0].name == "help"


@pytest.mark.parametrize("text", ["你好", "预约口罩", "", "帮助我"])
def test_other_texts_do_not_match_help(text):
    found = handlers.find_handler(text)
    assert found is None or found[0].name != "help"


def test_registry_adds_lists_and_removes(inbound_handler):
    def reserve(message):
        return f"收到:{message.text}"

    inbound_handler(r"预约|YY", reserve, keyword="预约")
    found = handlers.find_handler("ｙｙ 5号")
    assert found is not None and found[0].handler is reserve
    assert handlers.keywords() == ["帮助", "口罩", "求助", "抗原", "预约"]
    assert "帮助、口罩、求助、抗原、预约" in handlers.help_text()
    assert handlers.register_inbound_handler(r"预约|YY", reserve).handler is reserve  # same again: no-op
    with pytest.raises(ValueError):
        handlers.register_inbound_handler(r"预约|YY", lambda m: "x")
    handlers.unregister_inbound_handler(r"预约|YY")
    assert handlers.find_handler("预约") is None


def test_the_templates_to_register_with_the_provider_are_listed():
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("sms_templates", stdout=out)
    lines = dict(line.split("\t", 1) for line in out.getvalue().splitlines())
    assert lines["XH_OTP"] == "验证码{code},5分钟内有效,请勿告诉他人。"
    assert lines["XH_TICKET_REPLY_TEXT"] == "您的求助{number}答复:{reply}"
    assert {"XH_CHECKIN", "XH_ISOLATION_ALERT", "XH_TICKET_RECEIVED", "XH_TICKET_REMIND"} <= set(lines)
    assert list(lines) == sorted(lines)
