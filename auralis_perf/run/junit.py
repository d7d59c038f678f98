"""`--junit PATH`: the run as a JUnit XML test report, for CIs that show one (GitLab, Jenkins, Azure, ...).

One `<testsuite>` per engine, one `<testcase>` per check ID (classname = its category):
    fail  -> <failure> with the value, the bound it missed and the reason
    error -> <error> with the reason (the check could not be measured)
    skip  -> <skipped> with the reason (the engine lacks a capability)
The run's machine, engine, profile and id are the suite's properties. A failed notebook shows as its
checks' errors. The layout follows the common JUnit schema (Jenkins' junit-10.xsd) that these CIs read.
"""
from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from auralis_perf.run.digest import EngineDigest, value_text


def testsuite(digest: EngineDigest) -> ET.Element:
    """One engine's run as a <testsuite>."""
    s = digest.summary
    counts = s.counts
    suite = ET.Element("testsuite", {
        "name": f"auralis-perf {digest.engine} {digest.profile}", "tests": str(len(s.checks)),
        "failures": str(counts.get("fail", 0)), "errors": str(counts.get("error", 0)),
        "skipped": str(counts.get("skip", 0)), "time": f"{s.duration_s or 0:.3f}",
        "timestamp": str(s.run.get("started_at") or "")[:19], "hostname": socket.gethostname()})
    properties = ET.SubElement(suite, "properties")
    machine = s.run.get("machine") or {}
    for name, value in (("engine", digest.engine), ("profile", digest.profile), ("run_id", s.run.get("id")),
                        ("machine", digest.machine_label), ("machine_fingerprint", machine.get("fingerprint"))):
        if value not in (None, ""):
            ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for record in s.checks:
        suite.append(testcase(digest, record))
    return suite


def testcase(digest: EngineDigest, record: dict) -> ET.Element:
    case = ET.Element("testcase", {"classname": str(record.get("category") or ""), "name": str(record["id"]),
                                   "time": "0"})
    status = record.get("status")
    value = value_text(record)
    reason = record.get("reason") or ""
    if status == "fail":
        bound = digest.missed_bound(record)
        why = reason or "; ".join(record.get("violations") or []) or f"criterion: {record.get('criterion', '')}"
        message = f"{record['id']} {record.get('title', '')}: {value}" + (f" misses {bound}" if bound else "")
        failure = ET.SubElement(case, "failure", {"message": message, "type": bound.split()[0] if bound else "fail"})
        failure.text = f"value: {value}\nbound: {bound or '—'}\ncriterion: {record.get('criterion', '')}\nreason: {why}"
    elif status == "error":
        error = ET.SubElement(case, "error", {"message": reason or "could not be measured", "type": "error"})
        error.text = reason
    elif status == "skip":
        ET.SubElement(case, "skipped", {"message": reason or "skipped"})
    out = ET.SubElement(case, "system-out")
    out.text = f"{record['id']} {record.get('title', '')}: {value} (criterion: {record.get('criterion', '')})"
    return case


def junit_xml(digests: Sequence[EngineDigest]) -> bytes:
    """The whole report: <testsuites> with one <testsuite> per engine."""
    suites = [testsuite(d) for d in digests]
    root = ET.Element("testsuites", {"name": "auralis-perf"})
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.extend(suites)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, digests: Sequence[EngineDigest]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(junit_xml(digests))
    tmp.replace(path)
    return path
