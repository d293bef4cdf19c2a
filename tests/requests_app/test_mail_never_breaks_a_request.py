"""Mail reports a change; it never undoes or strands it: a line break in a description, or a mail server that is
down, leaves the request sent and its registration queued, and the mail is retried by a worker."""

import logging
import socket

from django.core import mail

from deft.workers import send_mail
from requests_app.models import RequestStatus
from tasks.models import ProductionTask


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused, as by a mail server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def send(api, request, capture):
    with capture(execute=True):
        return api.post(f"/api/requests/{request.pk}/send/")


def test_a_line_break_in_the_description_neither_breaks_sending_nor_strands_the_registration(
    draft, susy, susy_manager, eager_celery, api_for, django_capture_on_commit_callbacks
):
    susy.auto_approve = True
    susy.save()
    draft.description = "Top quark mass\nwith a second line"
    draft.save()

    response = send(api_for(susy_manager), draft, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content  # accepted: the registration is queued
    draft.refresh_from_db()
    assert draft.status == RequestStatus.WORKING
    assert ProductionTask.objects.filter(request=draft).count() == 6
    subjects = [m.subject for m in mail.outbox]
    assert any("Top quark mass with a second line" in s for s in subjects), subjects
    assert not any("\n" in s or "\r" in s for s in subjects)


def test_a_mail_server_that_is_down_leaves_the_request_sent_and_queues_the_mail_again(
    draft, susy_manager, api_for, django_capture_on_commit_callbacks, settings, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2

    with caplog.at_level(logging.WARNING, logger="deft.notifications"):
        response = send(api_for(susy_manager), draft, django_capture_on_commit_callbacks)

    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.status == RequestStatus.WAITING
    assert "mail not sent (ConnectionRefusedError" in caplog.text
    assert "queued for a retry" in caplog.text


def test_the_worker_sends_a_mail_queued_for_a_retry(db):
    send_mail.apply(args=[[["[DEFT] Request 7 sent", "body", "deft@example.org", ["phys-susy@example.org"]]]]).get()
    assert [(m.subject, m.to) for m in mail.outbox] == [("[DEFT] Request 7 sent", ["phys-susy@example.org"])]
