from django.urls import path

from . import views

urlpatterns = [
    path("", views.RequestListView.as_view(), name="request-list"),
    path("new/", views.request_new, name="request-new"),
    path("import/", views.request_import, name="request-import"),
    path("<int:pk>/", views.request_detail, name="request-detail"),
    path("<int:pk>/edit/", views.request_edit, name="request-edit"),
    path("<int:pk>/preview/", views.request_preview, name="request-preview"),
    path("<int:pk>/<str:verb>/", views.request_action, name="request-action"),
    path("ptags/", views.PTagListView.as_view(), name="ptag-list"),
    path("ptags/<int:pk>/", views.ptag_detail, name="ptag-detail"),
]
