"""URLs of the work-order staff pages (tickets)."""

from django.urls import path

from . import views as v

app_name = "tickets"
urlpatterns = [
    path("", v.board, name="board"),
    path("board.xlsx", v.board_xlsx, name="board_xlsx"),
    path("new/", v.new, name="new"),
    path("<int:pk>/", v.detail, name="detail"),
    path("<int:pk>/move/", v.move, name="move"),
    path("<int:pk>/extension/", v.extension_request, name="extension"),
    path("<int:pk>/extension/decide/", v.extension_decide, name="extension_decide"),
    path("<int:pk>/link/", v.follow_link_reissue, name="follow_link_reissue"),
    path("<int:pk>/urge/", v.urge, name="urge"),
    path("<int:pk>/category/", v.reclassify, name="reclassify"),
    path("rules/", v.rules, name="rules"),
    path("departments/", v.departments, name="departments"),
    path("departments/<int:pk>/members/", v.department_member_add, name="department_member_add"),
    path("departments/<int:pk>/members/remove/", v.department_member_remove, name="department_member_remove"),
    path("departments/<int:pk>/head/", v.department_head, name="department_head"),
]
