from rest_framework import serializers

from tasks.errors.registry import RulePatternError, compile_rule_pattern
from tasks.models import TASK_COUNTER_FIELDS, ErrorCode, ErrorRule, Job, JobOutput, Operation, ProductionTask


class TaskSerializer(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="name", read_only=True)
    ptag = serializers.SlugRelatedField(slug_field="name", read_only=True)
    input_dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    formats = serializers.ListField(child=serializers.CharField(), read_only=True)
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = ProductionTask
        fields = [
            "id",
            "name",
            "request",
            "slice",
            "group",
            "project",
            "input_dataset",
            "ptag",
            "formats",
            "skim",
            "events_per_job",
            "priority",
            "status",
            "destination",
            "max_attempts",
            "max_failures",
            *TASK_COUNTER_FIELDS,
            "progress",
            "error_dialog",
            "created",
            "updated",
            "started_at",
            "ended_at",
        ]


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobOutput
        fields = ["id", "format", "lfn", "merged", "bytes", "events", "merged_into", "deleted"]


class JobSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="name", read_only=True)
    step = serializers.CharField(source="job_type", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "task",
            "step",
            "status",
            "attempt",
            "previous",
            "site",
            "priority",
            "memory_mb",
            "nevents",
            "error_source",
            "error_code",
            "error_diag",
            "error_class",
            "created",
            "started_at",
            "ended_at",
        ]
        fields += ["error_original_code", "error_rule", "error_dry_run_rules", "failures", "walltime_s"]


class JobDetailSerializer(JobSerializer):
    outputs = JobOutputSerializer(many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = JobSerializer.Meta.fields + ["inputs", "outputs"]


class OperationSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "action",
            "actor",
            "status",
            "request",
            "params",
            "comment",
            "total",
            "done",
            "skipped",
            "failed",
            "progress",
            "messages",
            "created",
            "started_at",
            "finished_at",
        ]


class ErrorCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ErrorCode
        fields = ["id", "source", "code", "name", "description", "error_class", "retry_action"]


class TaskActionSerializer(serializers.Serializer):
    """`POST /api/tasks/actions/`: the shape only; `tasks.operations.task_actions` checks the meaning and
    the permissions."""

    action = serializers.CharField(help_text="abort, obsolete, retry, finish, pause, resume, change_priority, ...")
    task_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False)
    filter = serializers.DictField(required=False, help_text="task list filter fields, e.g. {'request': 42}")
    params = serializers.DictField(required=False, help_text="priority, increase, or mode (soft/hard)")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ErrorRuleSerializer(serializers.ModelSerializer):
    """Reads a rule; validates the writable fields (services do the writing)."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ErrorRule
        fields = [
            "id",
            "position",
            "source",
            "code",
            "pattern",
            "new_code",
            "error_class",
            "description",
            "active",
            "created_by",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created_by", "created", "updated"]

    def validate_pattern(self, value):
        try:
            compile_rule_pattern(value)
        except RulePatternError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class ReorderSerializer(serializers.Serializer):
    rule_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
