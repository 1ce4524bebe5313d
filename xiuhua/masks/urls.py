from django.urls import include, path

app_name = "masks"
urlpatterns = [
    # Staff: rounds, desk and phone entry, verification, deliveries, redemption, printing.
    path("staff/", include("xiuhua.masks.urls_staff")),
    # Residents and the public: committee QR pages, phone login, reservation, open data.
    path("", include("xiuhua.masks.urls_public")),
]
