from django.contrib import admin

from tasks.forms import ErrorRuleForm
from tasks.models import ErrorCode, ErrorRule, Job, JobOutput, Operation, ProductionTask


@admin.register(ProductionTask)
class ProductionTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "group", "status", "priority", "events_done", "events_total"]
    list_filter = ["status", "group"]
    search_fields = ["name"]
    raw_id_fields = ["request", "slice", "input_dataset"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "job_type", "status", "attempt", "site", "error_code", "error_class"]
    list_filter = ["job_type", "status", "error_class"]
    raw_id_fields = ["task", "previous"]


@admin.register(JobOutput)
class JobOutputAdmin(admin.ModelAdmin):
    list_display = ["lfn", "format", "merged", "events", "bytes", "deleted"]
    raw_id_fields = ["job", "file", "merged_into"]


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["id", "action", "actor", "status", "total", "done", "skipped", "failed", "created"]
    list_filter = ["action", "status"]


@admin.register(ErrorCode)
class ErrorCodeAdmin(admin.ModelAdmin):
    """Admins edit the registry here; classification reads it at failure time."""

    list_display = ["source", "code", "name", "error_class", "retry_action"]
    list_filter = ["source", "error_class", "retry_action"]
    search_fields = ["name", "description"]
    list_editable = ["error_class", "retry_action"]


@admin.register(ErrorRule)
class ErrorRuleAdmin(admin.ModelAdmin):
    """Production managers use the rules page; here admins see the same rules (a broken pattern is refused)."""

    form = ErrorRuleForm
    list_display = ["position", "id", "source", "code", "new_code", "error_class", "active", "description"]
    list_filter = ["source", "active", "error_class"]
    search_fields = ["pattern", "description"]
    ordering = ["position", "id"]
