from django.urls import path

from . import views

urlpatterns = [
    path("", views.TaskListView.as_view(), name="task-list"),
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("operations/", views.OperationListView.as_view(), name="operation-list"),
    path("operations/<int:pk>/", views.operation_detail, name="operation-detail"),
    path("error-codes/", views.ErrorCodeListView.as_view(), name="errorcode-list"),
]
