"""The sampling station's pages: the list of one's sites, the station page (a phone or a laptop
with a handheld scanner), its batch endpoint, the site's live counts, and the service worker that
keeps the page working offline (served from here so that its scope covers the station pages)."""

from __future__ import annotations

from pathlib import Path

from csp.decorators import csp_update
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap
from xiuhua.core.jsonbody import JsonBodyError, parse_json_body
from xiuhua.core.policy import public, requires

from .models import RoundStatus, Site
from .services_station import MAX_EVENTS, site_live_counts, station_batch_apply

# A batch of MAX_EVENTS events of ~150 bytes each, with room to spare; the page sends 50 at a time.
MAX_BATCH_BYTES = 256 * 1024
COUNTS_SECONDS = 5
SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "screening" / "station_sw.js"


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _site(request, site_id: int, cap: str) -> Site:
    return access_by_id(Site.objects.select_related("round", "committee"), request.user, cap=cap, pk=site_id)


@requires(Cap.COLLECT_SAMPLES, Cap.VIEW_SCREENING)
@require_GET
def station_index(request):
    """The sites of open rounds the member sees: where they scan, or whose counts they follow."""
    sites = (Site.objects.visible_to(request.user).filter(round__status=RoundStatus.OPEN, active=True)
             .select_related("round", "committee").order_by("round__first_day", "committee__sort_key", "name"))
    return render(request, "screening/station/index.html", {
        "sites": sites, "collects": has_cap(request.user, Cap.COLLECT_SAMPLES),
    })


@requires(Cap.COLLECT_SAMPLES)
@require_GET
# The camera's decoder is WebAssembly. (django-csp types its decorator for views of the request alone.)
@csp_update({"script-src": ["'wasm-unsafe-eval'"]})  # type: ignore[arg-type]
def station_page(request, site_id: int):
    site = _site(request, site_id, Cap.COLLECT_SAMPLES)
    lines = list(site.lines.filter(active=True).values_list("number", flat=True))
    return render(request, "screening/station/station.html", {"site": site, "lines": lines})


@requires(Cap.COLLECT_SAMPLES)
@require_POST
def station_batch(request, site_id: int):
    """POST {"key", "events": [...]}: the per-event answer (a resend: the first answer) and the
    site's live counts. 400 for a body that is not a JSON object with those, 413 past the limit,
    422 for a batch refused as a whole (the round not open), one 404 for a site not the member's."""
    site = _site(request, site_id, Cap.COLLECT_SAMPLES)
    try:
        body = parse_json_body(request, max_bytes=MAX_BATCH_BYTES, max_depth=4)
    except JsonBodyError as error:
        return _json({"detail": error.message}, status=error.status_code)
    if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not isinstance(body.get("events"), list):
        return _json({"detail": _("请求体应为 JSON 对象,包含批次编号 key 和扫码记录 events")}, status=400)
    if len(body["events"]) > MAX_EVENTS:
        return _json({"detail": _("一批最多 %(n)d 条扫码记录") % {"n": MAX_EVENTS}}, status=400)
    try:
        answer = station_batch_apply(actor=request.user, round=site.round, site=site, key=body["key"],
                                     events=body["events"])
    except ValidationError as error:
        return _json({"detail": "".join(error.messages)}, status=422)
    return _json({**answer, "counts": _cached_counts(site)})


def _cached_counts(site: Site) -> dict:
    """The site's counts as of at most COUNTS_SECONDS ago (this worker's memory): every batch
    answer carries them, and counting a busy site's samples at each of 40 batches a second would
    cost more than the batches."""
    key = f"screening-station-counts:{site.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = site_live_counts(site)
        cache.set(key, counts, COUNTS_SECONDS)
    return counts


@requires(Cap.COLLECT_SAMPLES, Cap.VIEW_SCREENING)
@require_GET
def station_counts(request, site_id: int):
    """The site's live counts, for the site lead's screen and the station's header."""
    site = _site(request, site_id, Cap.VIEW_SCREENING)
    return _json(site_live_counts(site))


@requires(Cap.VIEW_SCREENING)
@require_GET
def station_lead(request, site_id: int):
    """The site lead's screen: people per line in the last 10 and 60 minutes beside each line's
    rate, tubes and boxes; the counts refresh themselves every 30 seconds (htmx)."""
    site = _site(request, site_id, Cap.VIEW_SCREENING)
    counts = site_live_counts(site)
    rates = dict(site.lines.values_list("number", "rate_per_hour"))
    for line in counts["lines"]:
        line["rate"] = rates.get(line["line"])
    template = "screening/station/_lead_counts.html" if request.headers.get("HX-Request") else \
        "screening/station/lead.html"
    return render(request, template, {"site": site, "counts": counts})


@public
@never_cache
@require_GET
def station_service_worker(request):
    """The service worker's script. Served under /screening/station/ (a script's scope is its own
    folder), with no data in it, so anyone may fetch it; it caches only the station pages."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/screening/station/"
    return response
