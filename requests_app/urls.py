from django.urls import path

from . import views

urlpatterns = [
    path("", views.RequestListView.as_view(), name="request-list"),
    path("<int:pk>/", views.request_detail, name="request-detail"),
    path("ptags/", views.PTagListView.as_view(), name="ptag-list"),
    path("ptags/<int:pk>/", views.ptag_detail, name="ptag-detail"),
]
