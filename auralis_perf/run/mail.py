"""Send the report by SMTP: a compact HTML body with its plots as cid: images, a short plain-text part, and
the whole report.html attached (the body itself is composed in `mail_body.py`).

Settings come from environment variables only, never from the command line (where a password would
show in `ps` and in shell history):

    AURALIS_PERF_SMTP_HOST      required
    AURALIS_PERF_SMTP_PORT      default 25 (none), 587 (starttls), 465 (ssl)
    AURALIS_PERF_SMTP_TLS       none | starttls | ssl          (default starttls)
    AURALIS_PERF_SMTP_USER      log in when set
    AURALIS_PERF_SMTP_PASSWORD  needed with USER
    AURALIS_PERF_SMTP_FROM      sender address (default USER when it is an address, else auralis-perf@host)
    AURALIS_PERF_SMTP_CAFILE    optional CA bundle for a server with a private certificate

Any failure raises `MailError` with what was tried and why it failed; the report on disk is untouched.
"""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

ENV_PREFIX = "AURALIS_PERF_SMTP_"
TLS_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class MailError(Exception):
    """The report could not be sent. The message says to whom, through which server, and why."""


class MailConfigError(MailError):
    """The AURALIS_PERF_SMTP_* settings are missing or wrong."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    cafile: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "SmtpConfig":
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name, "").strip()
            return value or None

        host = get("HOST")
        if host is None:
            raise MailConfigError(f"{ENV_PREFIX}HOST is not set")
        tls = (get("TLS") or "starttls").lower()
        if tls not in TLS_MODES:
            raise MailConfigError(f"{ENV_PREFIX}TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}")
        raw_port = get("PORT")
        try:
            port = int(raw_port) if raw_port is not None else DEFAULT_PORTS[tls]
        except ValueError:
            raise MailConfigError(f"{ENV_PREFIX}PORT must be a number, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise MailConfigError(f"{ENV_PREFIX}PORT must be between 1 and 65535, got {port}")
        user, password = get("USER"), env.get(ENV_PREFIX + "PASSWORD") or None
        if user is not None and password is None:
            raise MailConfigError(f"{ENV_PREFIX}USER is set but {ENV_PREFIX}PASSWORD is not")
        cafile = get("CAFILE")
        if cafile is not None and not Path(cafile).is_file():
            raise MailConfigError(f"{ENV_PREFIX}CAFILE {cafile!r} is not a file")
        sender = get("FROM") or (user if user and "@" in user else f"auralis-perf@{socket.gethostname()}")
        return cls(host=host, port=port, tls=tls, user=user, password=password, sender=sender, cafile=cafile)

    def describe(self) -> str:
        return f"{self.host}:{self.port} (tls {self.tls})"


def build_message(sender: str, to: Sequence[str], subject: str, html: str, text: str, *,
                  images: Sequence[tuple[str, bytes]] = (),
                  attachment: tuple[str, bytes] | None = None) -> EmailMessage:
    """multipart/mixed [multipart/alternative [text, multipart/related [html, images]], attachment].

    `images` are (content id without brackets, PNG bytes), referred to as cid:<id> in `html`; `attachment`
    is (file name, bytes) of an HTML file. Without images or attachment the message is simply alternative.
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, png in images:
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid.split('@')[0]}.png",
                              disposition="inline")
    if attachment is not None:
        name, data = attachment
        # As UTF-8 text in base64: the file arrives byte for byte, and clients open it as HTML.
        msg.add_attachment(data, maintype="text", subtype="html", filename=name, params={"charset": "utf-8"})
    return msg


def send_message(config: SmtpConfig, msg: EmailMessage, *, timeout: float = 60.0) -> None:
    """Deliver `msg` through the configured server; raises MailError on any failure."""
    recipients = [a.strip() for a in msg["To"].split(",")]
    context = ssl.create_default_context(cafile=config.cafile) if config.tls != "none" else None
    try:
        if config.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            if config.tls == "starttls":
                client.starttls(context=context)
            if config.user is not None:
                client.login(config.user, config.password or "")
            refused = client.send_message(msg, from_addr=config.sender, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"mail to {', '.join(recipients)} via {config.describe()}: the server refused "
                        f"the login of {config.user!r}: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"mail via {config.describe()}: every recipient was refused: "
                        f"{_refusals(exc.recipients)}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"mail to {', '.join(recipients)} via {config.describe()} failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    if refused:
        raise MailError(f"mail via {config.describe()}: some recipients were refused: {_refusals(refused)}")


def send_report(report_path: str | os.PathLike[str], to: Sequence[str], *, subject: str, text: str, html: str,
                images: Sequence[tuple[str, bytes]] = (), config: SmtpConfig | None = None) -> None:
    """Mail `html` (with its cid: `images`) and attach the report file at `report_path` (only read)."""
    config = config or SmtpConfig.from_env()
    try:
        report = Path(report_path).read_bytes()
    except OSError as exc:
        raise MailError(f"cannot read the report {report_path}: {exc}") from exc
    send_message(config, build_message(config.sender, to, subject, html, text, images=images,
                                       attachment=(Path(report_path).name, report)))


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _refusals(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(reason)}" for addr, (code, reason) in recipients.items())
