from django.urls import path

from . import action_views, views

urlpatterns = [
    path("", views.TaskListView.as_view(), name="task-list"),
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("operations/", views.OperationListView.as_view(), name="operation-list"),
    path("operations/<int:pk>/", action_views.operation_detail, name="operation-detail"),
    path("error-codes/", views.ErrorCodeListView.as_view(), name="errorcode-list"),
    path("actions/", action_views.task_action_confirm, name="task-action-confirm"),
    path("operations/<int:pk>/progress/", action_views.operation_progress, name="operation-progress"),
]
