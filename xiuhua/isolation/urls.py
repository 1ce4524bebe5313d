from django.urls import path

from . import views as v

app_name = "isolation"
urlpatterns = [
    path("", v.home, name="home"),
    path("arrivals/new/", v.arrival_new, name="arrival_new"),
    path("arrivals/<int:arrival_id>/open/", v.arrival_open_case, name="arrival_open_case"),
    path("arrivals/<int:arrival_id>/reject/", v.arrival_reject, name="arrival_reject"),
    path("arrivals/<int:arrival_id>/merge/", v.arrival_merge, name="arrival_merge"),
    path("cases/<int:case_id>/", v.case_detail, name="case"),
    path("cases/<int:case_id>/steps/<slug:step>/", v.step_complete, name="step_complete"),
    path("cases/<int:case_id>/extend/", v.case_extend, name="case_extend"),
    path("cases/<int:case_id>/close/", v.case_close, name="case_close"),
    path("cases/<int:case_id>/pledge.jpg", v.pledge_photo, name="pledge_photo"),
    path("cases/<int:case_id>/purchases/", v.purchase_log, name="purchase_log"),
    path("contacts/<int:contact_id>/", v.contact_record, name="contact"),
    path("contacts/well/", v.contacts_well, name="contacts_well"),
    path("contacts/due.xlsx", v.contacts_due_xlsx, name="contacts_due_xlsx"),
    path("alerts/<int:alert_id>/handle/", v.alert_handle, name="alert_handle"),
    path("daily/", v.daily, name="daily"),
    path("daily.xlsx", v.daily_xlsx, name="daily_xlsx"),
    path("rentals/", v.rentals, name="rentals"),
    path("rentals/<int:household_id>/", v.rental_unit, name="rental_unit"),
]
