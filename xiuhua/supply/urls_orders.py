"""URLs of group buying's votes, offers and orders (included from supply.urls): the committee's
pages and the building lead's (views_orders), the resident's phone pages (views_buy)."""

from django.urls import path

from . import views_buy as buy
from . import views_orders as office

urlpatterns: list = [
    # First: the phone page's order endpoint takes thousands of requests a minute when an offer
    # opens, and every pattern tried before it costs each of them.
    path("buy/order.json", buy.buy_order_json, name="buy_order_json"),
    path("polls/", office.polls, name="polls"),
    path("polls/<int:pk>/", office.poll, name="poll"),
    path("polls/<int:pk>/act/", office.poll_act, name="poll_act"),
    path("polls/<int:pk>/vote/", office.poll_vote_for, name="poll_vote_for"),
    path("offers/", office.offers, name="offers"),
    path("offers/open/<int:filing_pk>/", office.offer_open, name="offer_open"),
    path("offers/<int:pk>/", office.offer, name="offer"),
    path("offers/<int:pk>/act/", office.offer_act, name="offer_act"),
    path("offers/<int:pk>/orders/", office.offer_orders, name="offer_orders"),
    path("offers/<int:pk>/orders.xlsx", office.offer_orders_xlsx, name="offer_orders_xlsx"),
    path("offers/<int:pk>/order/", office.order_for, name="order_for"),
    path("orders/<int:pk>/cancel/", office.order_cancel_for, name="order_cancel_for"),
    path("for-residents/", office.for_residents, name="for_residents"),
    path("buy/", buy.buy_start, name="buy_start"),
    path("buy/code/", buy.sign_in.send, name="buy_otp_send"),
    path("buy/verify/", buy.sign_in.check, name="buy_verify"),
    path("buy/logout/", buy.sign_in.logout, name="buy_logout"),
    path("buy/home/", buy.buy_home, name="buy_home"),
    path("buy/vote/", buy.buy_vote, name="buy_vote"),
    path("buy/order/", buy.buy_order, name="buy_order"),
    path("buy/orders/<int:pk>/cancel/", buy.buy_cancel, name="buy_cancel"),
]
