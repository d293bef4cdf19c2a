from django.contrib import admin

from .models import Dataset, File, Replica, ReplicationRule, Site, StorageEndpoint


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "cloud", "slots", "events_per_second", "online"]
    list_filter = ["tier", "online"]


@admin.register(StorageEndpoint)
class StorageEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "token_type", "physgroup", "capacity_bytes", "used_bytes", "available"]
    list_filter = ["token_type", "available"]
    search_fields = ["name"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "data_type", "events", "files", "bytes", "status"]
    list_filter = ["project", "data_type", "status", "is_container"]
    search_fields = ["name"]
    raw_id_fields = ["members"]


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["lfn", "dataset", "events", "bytes"]
    search_fields = ["lfn"]
    raw_id_fields = ["dataset"]


@admin.register(Replica)
class ReplicaAdmin(admin.ModelAdmin):
    list_display = ["file", "endpoint", "state"]
    list_filter = ["state"]
    raw_id_fields = ["file"]


@admin.register(ReplicationRule)
class ReplicationRuleAdmin(admin.ModelAdmin):
    list_display = ["dataset", "rse_expression", "endpoint", "state", "updated"]
    list_filter = ["state"]
    raw_id_fields = ["dataset"]
