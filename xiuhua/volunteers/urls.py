"""URLs of the volunteers module (/volunteers/): staff pages (views), the volunteer's phone
pages and the post's QR code (views_phone), and mutual aid (urls_aid)."""

from django.urls import include, path

from . import views, views_phone

app_name = "volunteers"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("new/", views.volunteer_new, name="new"),
    path("v/<int:pk>/", views.volunteer_detail, name="volunteer"),
    path("talent/<int:pk>/decide/", views.talent_decide, name="talent_decide"),
    path("posts/", views.posts, name="posts"),
    path("posts/<int:pk>/", views.post_detail, name="post"),
    path("posts/<int:pk>/sheet.pdf", views.post_sheet, name="post_sheet"),
    path("shifts/<int:pk>/", views.shift_detail, name="shift"),
    path("shifts/<int:pk>/assign/", views.shift_assign, name="shift_assign"),
    path("duty/<int:pk>/<str:action>/", views.duty_act, name="duty_act"),
    path("day/", views.day, name="day"),
    path("day.pdf", views.day_pdf, name="day_pdf"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/new/<str:source>/<int:source_id>/", views.task_new, name="task_new"),
    path("tasks/<int:pk>/<str:action>/", views.task_act, name="task_act"),
    # The volunteer's phone pages (the one phone sign-in).
    path("my/", views_phone.my_start, name="my_start"),
    path("my/code/", views_phone.sign_in.send, name="my_otp_send"),
    path("my/verify/", views_phone.sign_in.check, name="my_verify"),
    path("my/logout/", views_phone.sign_in.logout, name="my_logout"),
    path("my/home/", views_phone.my_home, name="my_home"),
    path("my/signup/", views_phone.my_signup, name="my_signup"),
    path("my/shift/<int:pk>/join/", views_phone.my_join, name="my_join"),
    path("my/duty/<int:pk>/<str:action>/", views_phone.my_duty, name="my_duty"),
    path("my/task/<int:pk>/done/", views_phone.my_task_done, name="my_task_done"),
    # The post's QR code: check in and out.
    path("p/<str:code>/", views_phone.post_door, name="post_door"),
    path("p/<str:code>/code/", views_phone.post_sign_in.send, name="post_send"),
    path("p/<str:code>/verify/", views_phone.post_sign_in.check, name="post_verify"),
    path("p/<str:code>/logout/", views_phone.post_sign_in.logout, name="post_logout"),
    path("p/<str:code>/duty/<int:pk>/<str:action>/", views_phone.post_act, name="post_act"),
    path("", include("xiuhua.volunteers.urls_aid")),
]
