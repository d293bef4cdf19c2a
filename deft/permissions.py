"""The one permission policy: who may see and do what. Pages, API and bulk actions all ask here.

Group managers act on their own group's objects; production managers on all; shifters and members read.
Group managers may not set a priority above their group's cap.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from .models import Membership, Role

# Verbs a group manager may use on the objects of a group they manage.
GROUP_MANAGER_VERBS = frozenset(
    {
        "create_request",
        "edit",
        "send",
        "import",
        "abort",
        "obsolete",
        "retry",
        "finish",
        "pause",
        "resume",
        "change_priority",
        "increase_attempts",
    }
)
# Verbs only production managers may use.
PRODUCTION_MANAGER_VERBS = frozenset({"approve", "hold", "release", "cancel", "manage_rules"})
READ = "view"
KNOWN_VERBS = GROUP_MANAGER_VERBS | PRODUCTION_MANAGER_VERBS | {READ}


@dataclass(frozen=True)
class Roles:
    production_manager: bool = False
    shifter: bool = False
    managed_groups: frozenset = field(default_factory=frozenset)
    member_groups: frozenset = field(default_factory=frozenset)

    @property
    def reads_everything(self) -> bool:
        return self.production_manager or self.shifter or bool(self.managed_groups or self.member_groups)


def roles_of(user) -> Roles:
    """The user's roles, read once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return Roles()
    cached = getattr(user, "_deft_roles", None)
    if cached is not None:
        return cached
    rows = list(Membership.objects.filter(user=user).values_list("role", "group_id"))
    roles = Roles(
        production_manager=user.is_superuser or any(r == Role.PRODUCTION_MANAGER for r, _ in rows),
        shifter=any(r == Role.SHIFTER for r, _ in rows),
        managed_groups=frozenset(g for r, g in rows if r == Role.GROUP_MANAGER),
        member_groups=frozenset(g for r, g in rows if r == Role.MEMBER),
    )
    user._deft_roles = roles
    return roles


def group_id_of(obj) -> int | None:
    """The physics group an object belongs to (a group, a request, a task, a job, an operation)."""
    if obj is None:
        return None
    if obj.__class__.__name__ == "PhysicsGroup":
        return obj.pk
    for attr in ("group_id",):
        if getattr(obj, attr, None) is not None:
            return getattr(obj, attr)
    for parent in ("request", "task"):
        if getattr(obj, f"{parent}_id", None) is not None:
            return group_id_of(getattr(obj, parent))
    return None


def can(user, verb: str, obj=None, *, group_id: int | None = None) -> bool:
    """May `user` do `verb` on `obj` (or on objects of `group_id`)? A verb the policy does not know is a bug in
    the caller, not a refusal to hide: it raises."""
    if verb not in KNOWN_VERBS:
        raise ValueError(f"unknown verb {verb!r}; the policy knows: {', '.join(sorted(KNOWN_VERBS))}")
    roles = roles_of(user)
    if not getattr(user, "is_authenticated", False):
        return False
    if verb == READ:
        return roles.reads_everything or user.is_staff
    if roles.production_manager:
        return verb in GROUP_MANAGER_VERBS | PRODUCTION_MANAGER_VERBS
    if verb in GROUP_MANAGER_VERBS:
        gid = group_id if group_id is not None else group_id_of(obj)
        if gid is None:  # e.g. "may this user create requests at all?"
            return bool(roles.managed_groups)
        return gid in roles.managed_groups
    return False


def require(user, verb: str, obj=None, *, group_id: int | None = None) -> None:
    if not can(user, verb, obj, group_id=group_id):
        what = f" {obj}" if obj is not None else ""
        raise PermissionDenied(f"{user} may not {verb}{what}")


def priority_cap(user, group) -> int | None:
    """The highest priority `user` may set on `group`'s objects; None means no cap."""
    return None if roles_of(user).production_manager else group.priority_cap


def check_priority(user, group, priority: int) -> str | None:
    """An error message if `priority` is above what `user` may set for `group`, else None."""
    cap = priority_cap(user, group)
    if cap is not None and priority > cap:
        return f"priority {priority} is above the cap of {cap} for {group}"
    return None


def visible(user, queryset: QuerySet) -> QuerySet:
    """Restrict a queryset to what `user` may read: everything for any role-holder, nothing otherwise."""
    return queryset if can(user, READ) else queryset.none()


def actionable(user, queryset: QuerySet, *, group_field: str = "group_id") -> QuerySet:
    """Restrict a queryset to the objects `user` may act on (change)."""
    roles = roles_of(user)
    if roles.production_manager:
        return queryset
    if not roles.managed_groups:
        return queryset.none()
    return queryset.filter(**{f"{group_field}__in": roles.managed_groups})


def managed_groups(user, queryset: QuerySet) -> QuerySet:
    """The physics groups `user` may create requests for."""
    roles = roles_of(user)
    return queryset if roles.production_manager else queryset.filter(pk__in=roles.managed_groups)
