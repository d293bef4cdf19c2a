"""The request form: what a group manager fills in; it becomes a RequestSpec for the services."""

from django import forms

from deft import permissions
from deft.models import PhysicsGroup

from .models import DEFAULT_PRIORITY, PTag
from .services import RequestSpec, SliceSpec

MODES = [("single", "single carriage: one task per format"), ("train", "train: all formats in one task")]


class PTagChoice(forms.ModelChoiceField):
    def label_from_instance(self, ptag):
        return f"{ptag.name} · {ptag.cache} · {', '.join(ptag.formats)}"


class RequestForm(forms.Form):
    group = forms.ModelChoiceField(queryset=PhysicsGroup.objects.none(), help_text="only the groups you manage")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    ptag = PTagChoice(queryset=PTag.objects.order_by("name"), label="p-tag", help_text="cache · formats it writes")
    formats = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="a subset of the p-tag's")
    skim = forms.BooleanField(required=False, initial=True, help_text="keep only the events each format selects")
    mode = forms.ChoiceField(choices=MODES, widget=forms.RadioSelect, initial="single")
    events_per_job = forms.IntegerField(
        required=False, min_value=1, max_value=100_000_000, help_text="empty: automatic (dynamic splitting)"
    )
    priority = forms.IntegerField(initial=DEFAULT_PRIORITY, min_value=0, max_value=999_999)
    destination = forms.CharField(required=False, max_length=255, help_text="empty: the group's generic destination")
    project = forms.CharField(required=False, max_length=64)
    datasets = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        help_text="one input dataset or container per line; tick them on the dataset search page",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = permissions.managed_groups(user, PhysicsGroup.objects.order_by("name"))
        formats = sorted({f for ptag_formats in PTag.objects.values_list("formats", flat=True) for f in ptag_formats})
        self.fields["formats"].choices = [(f, f) for f in formats]
        groups = self.fields["group"].queryset
        self.fields["destination"].widget.attrs["placeholder"] = " / ".join(g.destination for g in groups[:3])

    def dataset_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["datasets"].splitlines() if line.strip()]

    def to_spec(self) -> RequestSpec:
        data = self.cleaned_data
        formats = tuple(data["formats"])
        return RequestSpec(
            group=data["group"],
            description=data["description"],
            ptag=data["ptag"],
            slices=[SliceSpec(name, formats) for name in dict.fromkeys(self.dataset_names())],
            skim=data["skim"],
            train=data["mode"] == "train",
            events_per_job=data["events_per_job"],
            priority=data["priority"],
            destination=data["destination"].strip(),
            project=data["project"].strip(),
        )


def initial_from(request) -> dict:
    """The form's initial values for an existing request (its first slice carries the p-tag and formats)."""
    first = request.slices.select_related("ptag").order_by("position").first()
    initial = {
        "group": request.group,
        "description": request.description,
        "priority": request.priority,
        "destination": request.destination,
        "project": request.project,
        "datasets": "\n".join(request.slices.order_by("position").values_list("dataset_name", flat=True)),
    }
    if first:
        initial.update(
            ptag=first.ptag,
            formats=first.formats,
            skim=first.skim,
            mode="train" if first.train else "single",
            events_per_job=first.events_per_job,
        )
    return initial


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="a legacy list file (key:value lines)")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10, "class": "mono"}), label="or paste")
