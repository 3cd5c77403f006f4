"""Account mail through pyramid_mailer: SMTP_* from the environment; an empty SMTP_HOST writes
each mail to the log instead. Tests include pyramid_mailer.testing (testing.ini), its outbox."""

import logging
import os
from typing import Self

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Message
from repoze.sendmail.mailer import SMTPMailer

log = logging.getLogger(__name__)


class LogMailer:
    """pyramid_mailer's interface, writing each mail to the log."""

    def bind(self, **kw: object) -> Self:
        return self

    def send(self, message: Message) -> None:
        log.info(
            "Mail (not sent: SMTP_HOST is empty)\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
            message.sender,
            ", ".join(message.recipients),
            message.subject,
            message.body,
        )


def smtp_mailer() -> Mailer | LogMailer:
    host = os.environ.get("SMTP_HOST", "").strip()
    if not host:
        return LogMailer()
    port = int(os.environ.get("SMTP_PORT", "").strip() or 587)
    # repoze.sendmail's own SMTP mailer: pyramid_mailer's TLS one passes SMTP_SSL arguments
    # that Python 3.12 removed.
    smtp = SMTPMailer(
        hostname=host,
        port=port,
        username=os.environ.get("SMTP_USERNAME") or None,
        password=os.environ.get("SMTP_PASSWORD") or None,
        force_tls=port == 587,  # STARTTLS, required; on other ports when the server offers it
        ssl=port == 465,  # TLS from the first byte
        no_tls=port == 465,
    )
    return Mailer(smtp_mailer=smtp)


def includeme(config: Configurator) -> None:
    registry = config.registry
    registry["mail_from"] = os.environ.get("MAIL_FROM", "").strip() or "noreply@localhost"
    if registry.queryUtility(IMailer) is None:  # else pyramid_mailer.testing came first
        registry.registerUtility(smtp_mailer(), IMailer)


def send_mail(request: Request, to: str, subject: str, body: str) -> None:
    """Sent when the request's transaction commits (never for a request that fails)."""
    message = Message(subject=subject, sender=request.registry["mail_from"], recipients=[to])
    message.body = body
    get_mailer(request).send(message)
