"""Mail: settings from the environment only, and real delivery to an SMTP server on 127.0.0.1 (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from team_support import CATALOG, regression, run_document

from auralis_perf.results import check_record
from auralis_perf.run import pipeline
from auralis_perf.run.cli import RunConfig
from auralis_perf.run.mail import MailConfigError, MailError, SmtpConfig, send_report
from auralis_perf.run.mail_body import MAX_BODY_BYTES

REPORT_HTML = ("<!DOCTYPE html><html><head><style>b{color:red}</style></head><body><h1>Report — µ ✓</h1>"
               + "<p>" + "x" * 5000 + "</p>" + "".join(f"<div>line {i}</div>\n" for i in range(3000))
               + "</body></html>")
BODY = "<p>compact body <img src=\"cid:plot@x\"></p>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


class Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """Start an SMTP server on 127.0.0.1; yields a function that starts one with the given options."""
    controllers = []

    def start(**kwargs) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return inbox, port

    yield start
    for c in controllers:
        c.stop()


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the TLS tests")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def env_for(port: int, **extra: str) -> dict[str, str]:
    return {"AURALIS_PERF_SMTP_HOST": "127.0.0.1", "AURALIS_PERF_SMTP_PORT": str(port),
            "AURALIS_PERF_SMTP_TLS": "none", "AURALIS_PERF_SMTP_FROM": "perf@example.org",
            **{f"AURALIS_PERF_SMTP_{k.upper()}": v for k, v in extra.items()}}


def message(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def parts(envelope) -> dict[str, str]:
    """The received message's body parts and attachment, with SMTP's CRLF line ends and the added final
    newline undone: text/plain, text/html (the body), attachment (the attached file)."""
    msg = message(envelope)
    texts = {}
    for p in msg.walk():
        if p.is_multipart() or p.get_content_maintype() != "text":
            continue
        key = "attachment" if p.get_content_disposition() == "attachment" else p.get_content_type()
        texts[key] = p.get_content().replace("\r\n", "\n").removesuffix("\n")
    return texts | {"subject": msg["Subject"], "from": msg["From"], "to": msg["To"]}


def test_body_images_and_attached_report_arrive_whole(smtp_server, tmp_path):
    inbox, port = smtp_server()
    report = tmp_path / "report.html"
    report.write_text(REPORT_HTML, encoding="utf-8")
    config = SmtpConfig.from_env(env_for(port))
    send_report(report, ["a@example.org", "b@example.org"], subject="auralis-perf — 3 pass", text="pass 3",
                html=BODY, images=[("plot@x", PNG)], config=config)
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "perf@example.org"
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]
    got = parts(envelope)
    assert got["text/html"] == BODY
    assert got["attachment"] == REPORT_HTML
    assert got["text/plain"] == "pass 3"
    assert got["subject"] == "auralis-perf — 3 pass"
    msg = message(envelope)
    assert msg.get_content_type() == "multipart/mixed"
    [related] = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    [image] = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<plot@x>" and image.get_content() == PNG
    [attached] = [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
    assert attached.get_filename() == "report.html"
    assert attached.get_payload(decode=True) == report.read_bytes()   # byte for byte
    assert report.read_text(encoding="utf-8") == REPORT_HTML


def test_login_and_refused_login(smtp_server, tmp_path):
    def authenticator(server, session, envelope, mechanism, auth_data):
        def text(b):
            return b.decode() if isinstance(b, bytes) else b
        ok = isinstance(auth_data, LoginPassword) and (text(auth_data.login), text(auth_data.password)) == (
            "perf", "s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    inbox, port = smtp_server(authenticator=authenticator, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    report = tmp_path / "report.html"
    report.write_text(REPORT_HTML, encoding="utf-8")
    send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                config=SmtpConfig.from_env(env_for(port, user="perf", password="s3cret")))
    assert len(inbox.envelopes) == 1
    with pytest.raises(MailError, match="refused the login of 'perf'"):
        send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                    config=SmtpConfig.from_env(env_for(port, user="perf", password="wrong")))
    assert len(inbox.envelopes) == 1


def test_starttls_and_ssl_with_a_private_ca(smtp_server, certificate, tmp_path):
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    report = tmp_path / "report.html"
    report.write_text(REPORT_HTML, encoding="utf-8")

    inbox, port = smtp_server(tls_context=server_ctx, require_starttls=True)
    send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                config=SmtpConfig.from_env(env_for(port, tls="starttls", cafile=str(cert))))
    assert parts(inbox.envelopes[0])["attachment"] == REPORT_HTML

    inbox, port = smtp_server(ssl_context=server_ctx)
    send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                config=SmtpConfig.from_env(env_for(port, tls="ssl", cafile=str(cert))))
    assert parts(inbox.envelopes[0])["attachment"] == REPORT_HTML

    # Without the private CA the certificate is not trusted: a clear failure, not a silent send.
    with pytest.raises(MailError, match=r"127\.0\.0\.1:\d+ \(tls ssl\) failed: .*CERTIFICATE_VERIFY_FAILED"):
        send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                    config=SmtpConfig.from_env(env_for(port, tls="ssl")))


def test_unreachable_server_is_a_clear_error_and_keeps_the_report(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(REPORT_HTML, encoding="utf-8")
    port = free_port()  # nothing listens there
    with pytest.raises(MailError, match=rf"a@example.org via 127\.0\.0\.1:{port} \(tls none\) failed: "
                                        r"ConnectionRefusedError"):
        send_report(report, ["a@example.org"], subject="s", text="t", html=BODY,
                    config=SmtpConfig.from_env(env_for(port)))
    assert report.read_text(encoding="utf-8") == REPORT_HTML


@pytest.mark.parametrize("env, message", [
    ({}, "AURALIS_PERF_SMTP_HOST is not set"),
    ({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_TLS": "maybe"}, "TLS must be one of none, starttls, ssl"),
    ({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_PORT": "smtp"}, "PORT must be a number"),
    ({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_PORT": "70000"}, "between 1 and 65535"),
    ({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_USER": "u"}, "PASSWORD is not"),
    ({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_CAFILE": "/no/such/ca.pem"}, "is not a file"),
])
def test_bad_settings(env, message):
    with pytest.raises(MailConfigError, match=message):
        SmtpConfig.from_env(env)


def test_settings_defaults_and_secret_kept_out_of_repr():
    config = SmtpConfig.from_env({"AURALIS_PERF_SMTP_HOST": "mail.example.org", "AURALIS_PERF_SMTP_USER": "me@x.org",
                                  "AURALIS_PERF_SMTP_PASSWORD": "hunter2"})
    assert (config.port, config.tls, config.sender) == (587, "starttls", "me@x.org")
    assert "hunter2" not in repr(config)
    assert SmtpConfig.from_env({"AURALIS_PERF_SMTP_HOST": "h", "AURALIS_PERF_SMTP_TLS": "ssl"}).port == 465


def _outcome(tmp_path: Path, email_to: tuple[str, ...], *, doc=None, changes=None) -> pipeline.RunOutcome:
    if doc is None:
        checks = [check_record("RT-01", 45.0).to_dict(), check_record("RT-06", 150.0).to_dict()]
        doc = {"run": {"id": "r1", "engine": "reference", "profile": "smoke", "started_at": "2025-01-01T00:00:00",
                       "finished_at": "2025-01-01T00:01:00", "notebooks": []}, "checks": checks}
    report = tmp_path / "report.html"
    report.write_text(REPORT_HTML, encoding="utf-8")
    config = RunConfig(engines=("reference",), profile="smoke", categories=("realtime",), audio=(), out=tmp_path,
                       timeout=60.0, thresholds=None, email_to=email_to, notebooks_dir=tmp_path)
    run = pipeline.EngineRun("reference", tmp_path, tmp_path / "results.json", doc)
    return pipeline.RunOutcome(config=config, engine_runs=[run], report_path=report, exit_code=1, changes=changes)


class ImageRefs(HTMLParser):
    """Every src and href of an HTML body."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_pipeline_mails_counts_and_critical_misses(smtp_server, tmp_path, monkeypatch):
    inbox, port = smtp_server()
    for key, value in env_for(port).items():
        monkeypatch.setenv(key, value)
    outcome = _outcome(tmp_path, ("team@example.org",))
    pipeline.mail_report(outcome)
    assert outcome.mail_error is None
    got = parts(inbox.envelopes[0])
    assert "1 critical missed" in got["subject"]
    assert "pass 1, fail 1" in got["text/plain"] and "RT-06 first-chunk latency: 150 ms" in got["text/plain"]
    assert "RT-06" in got["text/html"] and "critical &lt; 100" in got["text/html"]
    assert got["attachment"] == REPORT_HTML


def test_mail_of_a_whole_catalogue_run_is_compact_with_cid_plots(smtp_server, tmp_path, monkeypatch):
    """A run of all 100 checks with failures, errors and regressions: what a mail client gets."""
    inbox, port = smtp_server()
    for key, value in env_for(port).items():
        monkeypatch.setenv(key, value)
    failing = {i: 0.001 for i in CATALOG.ids("database")[:10]}
    doc = run_document("run-big", values=failing, error=tuple(CATALOG.ids("cache")[:15]))
    for record in doc["checks"]:
        if record["status"] == "error":
            record["reason"] = "<b>RuntimeError</b>: " + "a long traceback line " * 50
    changes = [regression(i, 10.0, 14.0) for i in CATALOG.ids("realtime")] + [
        {**regression(i, 10.0, 10.2), "verdict": "unchanged"} for i in CATALOG.ids("memory")]
    outcome = _outcome(tmp_path, ("team@example.org",), doc=doc, changes=changes)
    pipeline.mail_report(outcome)
    assert outcome.mail_error is None
    msg = message(inbox.envelopes[0])
    [body] = [p for p in msg.walk() if p.get_content_type() == "text/html" and p.get_content_disposition() != "attachment"]
    html = body.get_content()
    assert len(html.encode()) < MAX_BODY_BYTES
    assert "<style" not in html and "data:" not in html           # styles inline, no data: URI anywhere
    assert html.index("Regressed against the baseline") < html.index("Checks that failed")
    assert "&lt;b&gt;RuntimeError" in html                       # outside text is escaped
    refs = ImageRefs()
    refs.feed(html)
    cids = {r.removeprefix("cid:") for r in refs.refs if r.startswith("cid:")}
    assert refs.refs and all(r.startswith("cid:") for r in refs.refs)
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1 and body in list(related[0].iter_parts())
    images = {p["Content-ID"].strip("<>"): p.get_content() for p in related[0].iter_parts()
              if p.get_content_type() == "image/png"}
    assert 2 <= len(cids) <= 3 and cids == set(images)           # every cid: resolved, no image unused
    assert images and all(png.startswith(b"\x89PNG") and len(png) < 60_000 for png in images.values())
    assert parts(inbox.envelopes[0])["attachment"] == REPORT_HTML


def test_pipeline_mail_failure_is_recorded_not_raised(tmp_path, monkeypatch, capsys):
    for key, value in env_for(free_port()).items():
        monkeypatch.setenv(key, value)
    outcome = _outcome(tmp_path, ("team@example.org",))
    pipeline.mail_report(outcome)
    assert "ConnectionRefusedError" in outcome.mail_error
    pipeline.print_outcome(outcome)
    assert "mail NOT sent" in capsys.readouterr().err
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == REPORT_HTML
