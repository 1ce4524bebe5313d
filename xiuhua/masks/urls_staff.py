from django.urls import path

from . import views_pharmacies as p
from . import views_staff as v

urlpatterns = [
    path("", v.home, name="staff_home"),
    path("rounds/", v.rounds, name="staff_rounds"),
    path("rounds/new/", v.round_new, name="staff_round_new"),
    path("rounds/<int:round_id>/", v.round_detail, name="staff_round"),
    path("rounds/<int:round_id>/edit/", v.round_edit, name="staff_round_edit"),
    path("rounds/<int:round_id>/open/", v.round_open, name="staff_round_open"),
    path("rounds/<int:round_id>/close/", v.round_close, name="staff_round_close"),
    path("rounds/<int:round_id>/finish/", v.round_finish, name="staff_round_finish"),
    path("rounds/<int:round_id>/reserve/", v.reserve, name="staff_reserve"),
    path("rounds/<int:round_id>/verify/", v.verify_queue, name="staff_verify_queue"),
    path("rounds/<int:round_id>/verify.xlsx", v.verify_queue_xlsx, name="staff_verify_queue_xlsx"),
    path("rounds/<int:round_id>/vouchers/", v.vouchers, name="staff_vouchers"),
    path("rounds/<int:round_id>/vouchers/pdf/", v.vouchers_pdf_view, name="staff_vouchers_pdf"),
    path("households/search/", v.household_search, name="staff_household_search"),
    path("reservations/<int:reservation_id>/", v.reservation_detail, name="staff_reservation"),
    path("reservations/<int:reservation_id>/verify/", v.verify, name="staff_verify"),
    path("reservations/<int:reservation_id>/reject/", v.reject, name="staff_reject"),
    path("vouchers/<int:voucher_id>/pdf/", v.voucher_pdf, name="staff_voucher_pdf"),
    path("deliveries/", v.deliveries, name="staff_deliveries"),
    path("redeem/", v.redeem, name="staff_redeem"),
    # Designated pharmacies: street and district officers set them up.
    path("pharmacies/", p.pharmacies, name="staff_pharmacies"),
    path("pharmacies/new/", p.pharmacy_new, name="staff_pharmacy_new"),
    path("pharmacies/<int:pharmacy_id>/", p.pharmacy_detail, name="staff_pharmacy"),
    path("pharmacies/<int:pharmacy_id>/committees/", p.pharmacy_committees, name="staff_pharmacy_committees"),
    path("pharmacies/<int:pharmacy_id>/clerks/add/", p.pharmacy_clerk_add, name="staff_pharmacy_clerk_add"),
    path("pharmacies/<int:pharmacy_id>/clerks/new/", p.pharmacy_clerk_new, name="staff_pharmacy_clerk_new"),
    path("pharmacies/<int:pharmacy_id>/clerks/<int:membership_id>/remove/", p.pharmacy_clerk_remove,
         name="staff_pharmacy_clerk_remove"),
    path("pharmacies/<int:pharmacy_id>/deactivate/", p.pharmacy_deactivate, name="staff_pharmacy_deactivate"),
]
