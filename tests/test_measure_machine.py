"""Machine description: every key, JSON-serialisable, stable fingerprint; control workload shape."""
import json

from auralis_perf.measure import CONTROL_VERSION, describe_machine, fingerprint, run_control_workload

TOP_KEYS = {"hostname_hash", "cpu", "numpy_cpu_features", "blas", "memory", "os", "python", "versions",
            "load_average_at_start", "env", "fingerprint"}
CPU_KEYS = {"model", "architecture", "logical_cores", "physical_cores", "usable_cores", "cgroup_cpu_quota",
            "frequency", "governor", "simd_flags"}
LIBRARIES = {"numpy", "scipy", "numba", "llvmlite", "pandas", "SQLAlchemy", "soundfile", "libsndfile", "psutil",
             "papermill"}


def test_description_has_every_key_and_is_json():
    description = describe_machine()
    assert TOP_KEYS <= set(description)
    assert CPU_KEYS <= set(description["cpu"])
    assert LIBRARIES <= set(description["versions"])
    assert {"total_mb", "available_mb_at_start", "swap_total_mb"} <= set(description["memory"])
    assert {"implementation", "version"} <= set(description["python"])
    assert "OPENBLAS_CORETYPE" in description["env"]
    assert description["cpu"]["logical_cores"] >= 1
    assert description["versions"]["numpy"]  # installed, so known
    assert json.loads(json.dumps(description)) == description


def test_hostname_is_hashed_not_stored(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "secret-build-host-42")
    description = describe_machine()
    assert "secret-build-host-42" not in json.dumps(description)
    assert len(description["hostname_hash"]) == 12


def test_fingerprint_is_stable_and_tracks_the_stack():
    first, second = describe_machine(), describe_machine()
    assert first["fingerprint"] == second["fingerprint"] == fingerprint(first)
    assert first["fingerprint"].startswith("m-")
    changed = json.loads(json.dumps(first))
    changed["versions"]["numpy"] = "0.0.1"
    assert fingerprint(changed) != first["fingerprint"]
    unrelated = json.loads(json.dumps(first))
    unrelated["load_average_at_start"] = [99.0, 99.0, 99.0]
    unrelated["memory"]["available_mb_at_start"] = 1.0
    assert fingerprint(unrelated) == first["fingerprint"]


def test_fingerprint_tolerates_an_empty_description():
    assert fingerprint({}).startswith("m-")


def test_control_workload_shape():
    control = run_control_workload(budget_s=0.2)
    assert control["version"] == CONTROL_VERSION
    for kernel in ("cpu", "memory"):
        entry = control[kernel]
        assert entry["median_s"] > 0
        assert len(entry["samples_s"]) >= 5
        assert entry["summary"]["n"] == len(entry["samples_s"])
    assert control["memory"]["bandwidth_gb_s"] > 0
    json.dumps(control)
