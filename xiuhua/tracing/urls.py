from django.urls import path

from . import views as v

app_name = "tracing"
urlpatterns = [
    path("", v.home, name="home"),
    path("import/", v.batch_import, name="import"),
    path("batches/<int:batch_id>/", v.batch_detail, name="batch"),
    path("worklist.xlsx", v.worklist_xlsx, name="worklist_xlsx"),
    path("triage/", v.triage, name="triage"),
    path("triage.xlsx", v.triage_xlsx, name="triage_xlsx"),
    path("triage/assign/", v.triage_assign, name="triage_assign"),
    path("entries/<int:entry_id>/", v.entry_detail, name="entry"),
    path("entries/<int:entry_id>/assign/", v.entry_assign, name="entry_assign"),
    path("entries/<int:entry_id>/report/", v.entry_report, name="entry_report"),
]
