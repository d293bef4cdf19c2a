from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from catalog import api as catalog_api
from deft import api_views
from monitoring import views as monitoring_views
from requests_app import api as requests_api
from requests_app import views as requests_views
from tasks import api as tasks_api

from . import views

router = DefaultRouter()
router.register("groups", api_views.GroupViewSet, basename="api-group")
router.register("sites", catalog_api.SiteViewSet, basename="api-site")
router.register("endpoints", catalog_api.EndpointViewSet, basename="api-endpoint")
router.register("datasets", catalog_api.DatasetViewSet, basename="api-dataset")
router.register("ptags", requests_api.PTagViewSet, basename="api-ptag")
router.register("requests", requests_api.RequestViewSet, basename="api-request")
router.register("tasks", tasks_api.TaskViewSet, basename="api-task")
router.register("jobs", tasks_api.JobViewSet, basename="api-job")
router.register("operations", tasks_api.OperationViewSet, basename="api-operation")
router.register("error-codes", tasks_api.ErrorCodeViewSet, basename="api-errorcode")
router.register("error-rules", tasks_api.ErrorRuleViewSet, basename="api-errorrule")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("groups/", views.group_list, name="group-list"),
    path("groups/<int:pk>/", views.group_detail, name="group-detail"),
    # The dataset search is the catalog's page, with the requests' "add to a draft request" on top.
    path("catalog/datasets/", requests_views.DatasetPickView.as_view(), name="dataset-list"),
    path("catalog/", include("catalog.urls")),
    path("requests/", include("requests_app.urls")),
    path("tasks/", include("tasks.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/summary/", monitoring_views.SummaryAPI.as_view(), name="api-summary"),
    path("api/errors/summary/", tasks_api.ErrorSummaryView.as_view(), name="api-errors-summary"),
    path("api/", include(router.urls)),
]
