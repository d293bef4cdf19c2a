from django.contrib import admin

from .models import ProductionRequest, PTag, Slice


@admin.register(PTag)
class PTagAdmin(admin.ModelAdmin):
    list_display = ["name", "cache", "transform", "step_name"]
    search_fields = ["name", "cache"]


class SliceInline(admin.TabularInline):
    model = Slice
    extra = 0
    raw_id_fields = ["dataset"]


@admin.register(ProductionRequest)
class ProductionRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "group", "requester", "status", "priority", "created"]
    list_filter = ["status", "group"]
    search_fields = ["description"]
    inlines = [SliceInline]
