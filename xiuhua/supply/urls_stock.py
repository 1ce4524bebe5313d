"""URLs of donations, loans and stock (included by the supply module's urls.py)."""

from django.urls import path

from . import views_stock as views

urlpatterns = [
    path("stock/", views.stock, name="stock"),
    path("stock/items/", views.stock_item_add, name="stock_item_add"),
    path("stock/in/", views.stock_move, {"direction": "in"}, name="stock_receive"),
    path("stock/kit/", views.stock_kit, name="stock_kit"),
    path("stock/out/", views.stock_move, {"direction": "out"}, name="stock_issue"),
    path("donations/", views.donations, name="donations"),
    path("donations/new/", views.donation_new, name="donation_new"),
    path("donations/<int:pk>/", views.donation, name="donation"),
    path("donations/<int:pk>/allocate/", views.donation_allocate, name="donation_allocate"),
    path("donations/<int:pk>/receipt.pdf", views.donation_receipt, name="donation_receipt"),
    path("g/<str:code>/", views.donation_public, name="donation_public"),
    path("loans/", views.loans, name="loans"),
    path("loans/new/", views.loan_new, name="loan_new"),
    path("loans/<int:pk>/return/", views.loan_return, name="loan_return"),
]
