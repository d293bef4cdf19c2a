from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.filtersets import DatasetFilterSet
from catalog.models import Dataset
from catalog.views import DatasetListView
from deft import permissions
from deft.generic import ObjectListView, link, render_detail, status_badge
from tasks.models import Operation, ProductionTask

from . import checks, selectors, services
from .filtersets import PTagFilterSet, RequestFilterSet
from .forms import ImportForm, RequestForm, initial_from
from .listfile import ListFileError, decode_upload
from .models import ProductionRequest, PTag, RequestStatus
from .states import REQUEST_MOVES

MAX_PICKED = 20_000  # "add all N matching" takes at most this many datasets at once
TASK_ROWS = 200
VERBS = {
    "send": services.request_send,
    "approve": services.request_approve,
    "hold": services.request_hold,
    "release": services.request_release,
    "cancel": services.request_cancel,
}


class RequestListView(ObjectListView):
    model = ProductionRequest
    filterset_class = RequestFilterSet
    title = "Production requests"
    template_name = "requests_app/request_list.html"
    select_related = ("group", "requester")
    columns = [
        ("#", link),
        ("Group", "group"),
        ("Description", "description"),
        ("Status", lambda r: status_badge(r.status)),
        ("Requester", "requester"),
        ("Priority", "priority"),
        ("Created", "created"),
    ]


class PTagListView(ObjectListView):
    model = PTag
    filterset_class = PTagFilterSet
    title = "p-tags"
    ordering = ("name",)
    columns = [
        ("Name", lambda p: link(p, p.name)),
        ("Cache", "cache"),
        ("Transform", "transform"),
        ("Formats", lambda p: ", ".join(p.formats)),
    ]


def request_detail(request, pk):
    return render_detail(
        request,
        model=ProductionRequest,
        pk=pk,
        title=lambda r: f"Request {r.pk}",
        template="requests_app/request_detail.html",
        queryset=ProductionRequest.objects.select_related("group", "requester"),
        fields=[
            ("Group", lambda r: r.group),
            ("Description", lambda r: r.description),
            ("Status", lambda r: status_badge(r.status)),
            ("Requester", lambda r: r.requester),
            ("Priority", lambda r: r.priority),
            ("Destination", lambda r: r.effective_destination),
            ("Ticket", lambda r: r.ticket),
            ("Created", lambda r: r.created),
        ],
        tables=[
            (
                "Slices",
                ["#", "Dataset", "p-tag", "Formats", "Skim", "Train", "Events/job"],
                lambda r: [
                    (
                        s.position,
                        s.dataset_name,
                        s.ptag.name,
                        ", ".join(s.formats),
                        s.skim,
                        s.train,
                        s.events_per_job or "auto",
                    )
                    for s in r.slices.select_related("ptag")[:500]
                ],
            ),
        ],
        extra=lambda r: {**selectors.request_page_parts(r), **detail_context(request, r)},
    )


def detail_context(request, obj: ProductionRequest) -> dict:
    tasks = ProductionTask.objects.filter(request=obj).order_by("id")
    return {
        "verbs": allowed_verbs(request.user, obj),
        "may_edit": obj.status in REQUEST_MOVES["edit"].sources and permissions.can(request.user, "edit", obj),
        "timeline": services.history(obj),
        "tasks": tasks.only("id", "name", "status", "priority", "events_total")[:TASK_ROWS],
        "task_count": tasks.count(),
        "operation": obj.operations.order_by("-id").first(),
    }


def allowed_verbs(user, obj: ProductionRequest) -> list[str]:
    """The buttons to show: verbs the user may use that move the request from its current status."""
    return [v for v in VERBS if obj.status in REQUEST_MOVES[v].sources and permissions.can(user, v, obj)]


@require_POST
def request_action(request, pk, verb):
    obj = get_object_or_404(permissions.visible(request.user, ProductionRequest.objects.all()), pk=pk)
    if verb not in VERBS:
        return redirect(obj)
    try:
        outcome = VERBS[verb](request=obj, actor=request.user, comment=request.POST.get("comment", "")[:2000])
    except PermissionDenied as denied:
        return render_refusal(request, obj, str(denied), 403)
    except services.InvalidTransition as error:
        messages.error(request, str(error))
    except services.RequestInvalid as invalid:
        messages.error(request, f"Not {verb}ed: " + "; ".join(invalid.messages))
    else:
        done = f"Request {obj.pk}: {verb} done."
        if isinstance(outcome, Operation):
            done += f" Registering its tasks (operation {outcome.pk})."
        messages.success(request, done)
    return redirect(obj)


def render_refusal(request, obj, message, status):
    return render(request, "requests_app/refused.html", {"title": "Not allowed", "message": message}, status=status)


def picked_datasets(params: QueryDict) -> list[str]:
    """Dataset names chosen on the search page: ticked ids, or every dataset matching the search."""
    if params.get("all"):
        filterset = DatasetFilterSet(QueryDict(params.get("match", "")), queryset=Dataset.objects.order_by("name"))
        if not filterset.is_valid():
            return []
        return list(filterset.qs.values_list("name", flat=True)[:MAX_PICKED])
    ids = [i for i in params.getlist("dataset") if i.isdigit()][:MAX_PICKED]
    return list(Dataset.objects.filter(pk__in=ids).order_by("name").values_list("name", flat=True))


def request_new(request):
    if not permissions.can(request.user, "create_request"):
        return render_refusal(request, None, "Only group managers create requests.", 403)
    picked = picked_datasets(request.GET)
    if request.GET.get("into", "").isdigit():
        return redirect(reverse("request-edit", args=[request.GET["into"]]) + "?" + request.GET.urlencode())
    form = RequestForm(request.POST or None, user=request.user, initial={"datasets": "\n".join(picked)})
    if request.method == "POST" and form.is_valid():
        try:
            created = services.request_create(actor=request.user, spec=form.to_spec())
        except services.RequestInvalid as invalid:
            add_problems(form, invalid)
        else:
            messages.success(request, f"Draft request {created.pk} saved.")
            return redirect("request-preview", pk=created.pk)
    return render_form(request, form, title="New request", picked=len(picked))


def request_edit(request, pk):
    obj = get_object_or_404(permissions.visible(request.user, ProductionRequest.objects.all()), pk=pk)
    if not permissions.can(request.user, "edit", obj) or obj.status not in REQUEST_MOVES["edit"].sources:
        return render_refusal(request, obj, f"Request {obj.pk} is {obj.status}: you may not edit it.", 403)
    initial = initial_from(obj)
    picked = picked_datasets(request.GET)
    if picked:
        current = initial["datasets"].splitlines()
        known = set(current)
        initial["datasets"] = "\n".join(current + [name for name in picked if name not in known])
    form = RequestForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_update(request=obj, actor=request.user, spec=form.to_spec())
        except services.RequestInvalid as invalid:
            add_problems(form, invalid)
        except services.InvalidTransition as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Request {obj.pk} saved as a draft.")
            return redirect("request-preview", pk=obj.pk)
    return render_form(request, form, title=f"Edit request {obj.pk}", picked=len(picked), obj=obj)


def add_problems(form, invalid: services.RequestInvalid) -> None:
    for where, message in invalid.problems:
        field = where if isinstance(where, str) and where in form.fields else None
        form.add_error(field, message if field else services.render_problem(where, message))


def render_form(request, form, **context):
    status = 400 if form.is_bound and form.errors else 200
    ptags = PTag.objects.order_by("name")
    return render(request, "requests_app/request_form.html", {"form": form, "ptags": ptags, **context}, status=status)


def request_preview(request, pk):
    obj = get_object_or_404(permissions.visible(request.user, ProductionRequest.objects.select_related("group")), pk=pk)
    preview = checks.preview(obj)
    context = {
        "title": f"Preview of request {obj.pk}",
        "object": obj,
        "preview": preview,
        "task_rows": preview["tasks"][:TASK_ROWS],
        "verbs": allowed_verbs(request.user, obj),
        "may_edit": obj.status in REQUEST_MOVES["edit"].sources and permissions.can(request.user, "edit", obj),
    }
    return render(request, "requests_app/request_preview.html", context)


def request_import(request):
    if not permissions.can(request.user, "import"):
        return render_refusal(request, None, "Only group managers import list files.", 403)
    form = ImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            upload = form.cleaned_data["file"]
            text = decode_upload(upload.read()) if upload else form.cleaned_data["text"]
            created = services.request_import(actor=request.user, text=text)
        except ListFileError as error:
            errors = [services.render_problem(line, message) for line, message in error.errors]
        except services.RequestInvalid as invalid:
            errors = invalid.messages
        else:
            messages.success(request, f"Draft request {created.pk} imported.")
            return redirect("request-preview", pk=created.pk)
    context = {"title": "Import a list file", "form": form, "errors": errors}
    return render(request, "requests_app/request_import.html", context, status=400 if errors else 200)


def ptag_detail(request, pk):
    return render_detail(
        request,
        model=PTag,
        pk=pk,
        title=lambda p: f"p-tag {p.name}",
        fields=[
            ("Cache", lambda p: p.cache),
            ("Transform", lambda p: p.transform),
            ("Step", lambda p: p.step_name),
            ("Memory (MB)", lambda p: p.memory_mb),
        ],
        tables=[
            (
                "Formats",
                ["Format", "CPU s/event", "Bytes/event", "Skim efficiency"],
                lambda p: [
                    (
                        f,
                        p.params_for(f)["cpu_per_event"],
                        p.params_for(f)["bytes_per_event"],
                        p.params_for(f)["skim_efficiency"],
                    )
                    for f in p.formats
                ],
            )
        ],
    )


class DatasetPickView(DatasetListView):
    """The catalog's dataset search, where a group manager ticks datasets into one of their draft requests."""

    def extra_context(self, request, filterset) -> dict:
        may_request = permissions.can(request.user, "create_request")
        drafts = ProductionRequest.objects.none()
        if may_request:
            editable = ProductionRequest.objects.filter(status=RequestStatus.DRAFT).order_by("-id")
            drafts = permissions.actionable(request.user, editable)[:20]
        params = request.GET.copy()
        params.pop("page", None)
        return {"may_request": may_request, "drafts": drafts, "match": params.urlencode()}
