"""URLs of the supply module."""

from django.urls import include, path

from . import views_behalf as behalf
from . import views_leader as lead
from . import views_office as office

app_name = "supply"
urlpatterns: list = [
    # Votes, offers and orders (urls_orders), first for the order endpoint's sake.
    path("", include("xiuhua.supply.urls_orders")),
    # The leader's and residents' phone pages (views_leader).
    path("lead/", lead.lead_start, name="lead_start"),
    path("lead/code/", lead.sign_in.send, name="lead_otp_send"),
    path("lead/verify/", lead.sign_in.check, name="lead_verify"),
    path("lead/logout/", lead.sign_in.logout, name="lead_logout"),
    path("lead/home/", lead.lead_home, name="lead_home"),
    path("lead/apply/", lead.lead_apply, name="lead_apply"),
    path("lead/<int:leader_pk>/document/", lead.lead_document, name="lead_document"),
    path("lead/<int:leader_pk>/file/", lead.lead_file, name="lead_file"),
    path("lead/filing/<int:filing_pk>/", lead.lead_filing, name="lead_filing"),
    path("lead/complain/", lead.lead_complain, name="lead_complain"),
    # The committee's and the street's pages (views_office).
    path("leaders/", office.leaders, name="leaders"),
    path("leaders/<int:pk>/decide/", office.leader_decide, name="leader_decide"),
    path("leaders/behalf/", behalf.behalf, name="behalf"),
    path("leaders/behalf/apply/", behalf.behalf_apply, name="behalf_apply"),
    path("leaders/<int:pk>/document/", behalf.behalf_document, name="behalf_document"),
    path("leaders/<int:pk>/file/", behalf.behalf_file, name="behalf_file"),
    path("filings/<int:pk>/edit/", behalf.behalf_edit, name="behalf_edit"),
    path("filings/", office.filings, name="filings"),
    path("filings/<int:pk>/", office.filing, name="filing"),
    path("filings/<int:pk>/decide/", office.filing_decide, name="filing_decide"),
    path("filings/<int:pk>/complaint/", office.filing_complaint, name="filing_complaint"),
    path("complaints/", office.complaints, name="complaints"),
    path("complaints/<int:pk>/handle/", office.complaint_handle, name="complaint_handle"),
    path("documents/<int:pk>/photo/", office.document_photo, name="document_photo"),
    path("prices/", office.prices, name="prices"),
    path("bans/", office.bans, name="bans"),
    path("bans/<int:pk>/lift/", office.ban_lift, name="ban_lift"),
    # The gate check, sorting and the door (urls_delivery).
    path("", include("xiuhua.supply.urls_delivery")),
    # Donations, loans and stock (urls_stock).
    path("", include("xiuhua.supply.urls_stock")),
]
