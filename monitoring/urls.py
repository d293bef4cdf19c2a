from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="monitoring"),
    path("series/", views.series, name="monitoring-series"),
    path("sites/", views.sites, name="site-list"),
]
