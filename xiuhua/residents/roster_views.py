from django.shortcuts import render

from xiuhua.accounts.roles import Cap
from xiuhua.core.policy import requires


@requires(Cap.VIEW_RESIDENTS)
def roster_index(request):
    return render(request, "residents/roster_index.html", {})
