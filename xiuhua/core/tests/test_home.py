"""The first page: the street office's urgent figures first, one line per module, each opening
its list; other staff keep their to-do card."""

import re


def lines_of(body: str, card: str) -> list[tuple[str, str]]:
    start = body.index(f'id="{card}"')
    section = body[start:body.index("</div>", start)]
    return [(href, re.sub(r"<[^>]+>", "", text).strip())
            for href, text in re.findall(r'<li[^>]*><a href="([^"]+)">(.*?)</a></li>', section, re.S)]


def test_the_street_office_sees_its_urgent_figures_first_each_linking_to_its_list(client, world):
    client.force_login(world.street_officer)
    body = client.get("/").content.decode()
    assert 'class="card urgent" id="waiting-work"' in body
    assert body.index('id="waiting-work"') < body.index('id="my-pages"') < body.index('id="totals"')
    assert re.search(r"截至 \d\d:\d\d", body)
    assert lines_of(body, "waiting-work") == [
        ("/tickets/?state=waiting_late", "紧急求助超时未受理 0 件"),
        ("/isolation/#alerts", "居家隔离未处理预警 0 条"),
        ("/tracing/", "今日还没有清单"),
        ("/tickets/?state=overdue", "工单已超时 0 件"),
        ("/tickets/?state=soon", "工单即将到期 0 件"),
        ("/tickets/?state=extension", "工单延期待审批 0 件"),
        ("/screening/results/", "核酸采样超时未出结果 0 管"),
        ("/zones/", "封控区 0 个"),
        ("/supply/loans/#overdue", "借用物品逾期未还 0 笔"),
    ]
    for href, _text in lines_of(body, "waiting-work"):
        assert client.get(href).status_code == 200


def test_committee_staff_keep_their_to_do_card(client, world):
    client.force_login(world.staff_a1)
    body = client.get("/").content.decode()
    assert '<div class="card" id="waiting-work"><h2>待办</h2>' in body
    assert "紧急事项" not in body
