"""The web app reports to no one: FastAPI's built-in OpenTelemetry stays off, whatever the
environment asks (the no-telemetry rule covers the server as much as the scanner)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Runs in a process of its own: a tracer provider is set once per process, for good.
SCRIPT = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace
    from opentelemetry.trace import NoOpTracer, TracerProvider

    opened = []

    class Recording(NoOpTracer):
        def start_span(self, name, *a, **k):
            opened.append(name)
            return super().start_span(name, *a, **k)

        def start_as_current_span(self, name, *a, **k):
            opened.append(name)
            return super().start_as_current_span(name, *a, **k)

    class Provider(TracerProvider):
        def get_tracer(self, *a, **k):
            return Recording()

    trace.set_tracer_provider(Provider())

    from fastapi.testclient import TestClient
    from haechi.config import load_settings
    from haechi.web import create_app

    app = create_app(load_settings(home=sys.argv[1]))
    with TestClient(app) as client:  # runs the lifespan, where auto-configuration happens
        paths = ("/login", "/m/lookup?signal=0&signal_type=pdq")
        codes = [client.get(path).status_code for path in paths]
    assert codes[1] == 401, codes  # answered, and refused: no key
    print("spans:", len(opened), sorted(set(opened)))
    """
)


@pytest.mark.sqlite_only  # the database plays no part
def test_the_web_app_opens_no_spans_and_configures_no_exporter(tmp_path: Path) -> None:
    env = dict(os.environ)
    # What a deployment's environment might say: export everything, to this address.
    env.update(FASTAPI_OTEL_AUTO_CONFIGURE="true", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "spans: 0 []" in proc.stdout, proc.stdout
