from django.contrib import admin

from .models import AuditEvent, Membership, PhysicsGroup


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1


@admin.register(PhysicsGroup)
class PhysicsGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "egroup", "priority_cap", "destination", "auto_approve"]
    search_fields = ["name", "code"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "role"]
    list_filter = ["role", "group"]
    search_fields = ["user__username"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created", "actor", "verb", "object_repr", "comment"]
    list_filter = ["verb"]
    search_fields = ["object_repr", "comment"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
