from django.urls import path

from . import views

urlpatterns = [
    path("datasets/", views.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("sites/<int:pk>/", views.site_detail, name="site-detail"),
    path("endpoints/", views.EndpointListView.as_view(), name="endpoint-list"),
    path("endpoints/<int:pk>/", views.endpoint_detail, name="endpoint-detail"),
]
