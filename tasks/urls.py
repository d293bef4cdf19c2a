from django.urls import path

from tasks.views import actions as action_views
from tasks.views import tasks as views

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

# Errors (issue 5): appended so that merges stay easy.
from tasks.views import errors as error_views  # noqa: E402

urlpatterns += [
    path("jobs/", error_views.JobListView.as_view(), name="job-list"),
    path("errors/", error_views.errors_page, name="errors"),
    path("error-rules/", error_views.rule_list, name="errorrule-list"),
    path("error-rules/new/", error_views.rule_edit, name="errorrule-create"),
    path("error-rules/<int:pk>/edit/", error_views.rule_edit, name="errorrule-edit"),
    path("error-rules/<int:pk>/move/", error_views.rule_move, name="errorrule-move"),
    path("error-rules/<int:pk>/toggle/", error_views.rule_toggle, name="errorrule-toggle"),
]
