"""Lab results over the API: the lab's system pushes tube results as they come off its machines.

POST /api/screening/results {"round": id, "results": [{"barcode", "result": "阴性|阳性|无效" or
negative|positive|invalid, "time"}]} applies them exactly as an uploaded file (services_results:
pooled negatives recorded, positive or invalid pools to review with their texts, positive singles
to cases) and answers the counts and every row it could not use, with why. The caller is a lab
token (Role.LAB: it records results of the rounds of the unit it serves and sees no person: only
barcodes go in and counts come out). Sending the same rows again changes nothing and counts them
as unchanged.
"""


from typing import Any

from ninja import Field, Router, Schema

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id
from xiuhua.core.policy import requires
from xiuhua.places.api import Id, InSchema, PlainText, UtcDatetime

from .models import ScreeningRound
from .services_results import ResultRow, results_apply

router = Router(tags=["screening"])
MAX_RESULTS = 5_000


class ResultIn(InSchema):
    barcode: PlainText = Field(max_length=60, description="试管条码")
    result: PlainText = Field(max_length=20, description="阴性、阳性或无效(或 negative、positive、invalid)")
    time: UtcDatetime | None = Field(None, description="检测时间;不带时区时按北京时间;缺省为收到时间")


class ResultsIn(InSchema):
    round: Id = Field(description="筛查轮次编号")
    results: list[ResultIn] = Field(min_length=1, max_length=MAX_RESULTS)


class ProblemOut(Schema):
    row: int = Field(description="results 中的序号,从 1 起")
    barcode: str
    problem: str


class ResultsOut(Schema):
    applied: int = Field(description="本次录入的试管数")
    unchanged: int = Field(description="已录入过、结果相同的行数")
    reviews: int = Field(description="转为待复核的人数")
    positives: int = Field(description="新增阳性人员数")
    problems: list[ProblemOut]


@router.post("/screening/results", response={200: ResultsOut})
@requires(Cap.RECORD_RESULTS)
def results_push(request, payload: ResultsIn) -> dict[str, Any]:
    """Tube results from the lab, applied in one transaction (see the module's note)."""
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=payload.round, cap=Cap.RECORD_RESULTS)
    rows = [ResultRow(row=n, barcode=item.barcode, result=item.result, at=item.time)
            for n, item in enumerate(payload.results, start=1)]
    outcome = results_apply(actor=request.user, screening_round=screening_round, rows=rows)
    return {"applied": outcome.applied, "unchanged": outcome.unchanged, "reviews": outcome.reviews,
            "positives": outcome.positives, "problems": outcome.problems}

