from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import parsers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from deft.viewsets import RestrictedReadOnlyViewSet
from tasks.models import Operation

from . import checks, services
from .filtersets import PTagFilterSet, RequestFilterSet
from .listfile import ListFileError, decode_upload
from .models import ProductionRequest, PTag
from .serializers import PTagSerializer, RequestSerializer


class PTagViewSet(RestrictedReadOnlyViewSet):
    serializer_class = PTagSerializer
    filterset_class = PTagFilterSet

    def base_queryset(self):
        return PTag.objects.order_by("name")


class PlainTextParser(parsers.BaseParser):
    """A list file sent as the body (`Content-Type: text/plain`): handed on as bytes, decoded by the view."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


def invalid_response(invalid: services.RequestInvalid) -> Response:
    """400 with every problem, each naming its line (list files) or field."""
    problems = [
        {"line": where, "message": message} if isinstance(where, int) else {"field": where, "message": message}
        for where, message in invalid.problems
    ]
    return Response({"errors": invalid.messages, "problems": problems}, status=status.HTTP_400_BAD_REQUEST)


def listfile_text(request) -> str:
    """The list file of an import, whichever way it came: text/plain body, multipart `file`, or JSON."""
    data = request.data
    if isinstance(data, bytes):
        return decode_upload(data)
    if "file" in request.FILES:
        return decode_upload(request.FILES["file"].read())
    text = data.get("listfile") if hasattr(data, "get") else None
    if not isinstance(text, str):
        raise ListFileError([(0, "send the list file as a text/plain body, a multipart 'file', or JSON 'listfile'")])
    return text


class RequestViewSet(RestrictedReadOnlyViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilterSet

    def base_queryset(self):
        qs = ProductionRequest.objects.select_related("group", "requester").order_by("-id")
        return qs

    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[PlainTextParser, parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser],
    )
    def import_listfile(self, request):
        """Import a legacy list file into a draft request; answers the request with its id."""
        try:
            created = services.request_import(actor=request.user, text=listfile_text(request))
        except ListFileError as error:
            return invalid_response(services.RequestInvalid(list(error.errors)))
        except services.RequestInvalid as invalid:
            return invalid_response(invalid)
        return Response(RequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        return Response(checks.preview(self.get_object()))

    @action(detail=True, methods=["get"])
    def listfile(self, request, pk=None):
        text = services.request_listfile(self.get_object())
        return HttpResponse(text, content_type="text/plain; charset=utf-8")

    def _verb(self, request, pk, service):
        target = get_object_or_404(self.get_queryset(), pk=pk)
        comment = request.data.get("comment", "") if hasattr(request.data, "get") else ""
        try:
            outcome = service(request=target, actor=request.user, comment=str(comment)[:2000])
        except services.InvalidTransition as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        except services.RequestInvalid as invalid:
            return invalid_response(invalid)
        target.refresh_from_db()
        body = {"request": RequestSerializer(target).data}
        if isinstance(outcome, Operation):
            body["operation"] = {"id": outcome.pk, "action": outcome.action, "status": outcome.status}
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(body)

    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._verb(request, pk, services.request_send)

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._verb(request, pk, services.request_approve)

    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        return self._verb(request, pk, services.request_hold)

    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._verb(request, pk, services.request_release)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._verb(request, pk, services.request_cancel)
