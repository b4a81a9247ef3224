"""haechi: find, judge and preserve deepfake sexual abuse material for the people fighting it."""

import os

# onnxruntime (1.2x+) sends usage events to Microsoft (a DNS query for
# mobile.events.data.microsoft.com ~9 s into a scan) and keeps a device id and an event queue
# under ~/.cache/Microsoft. haechi never calls home, whatever the environment says: the variable
# must be set before onnxruntime is first imported, and every process that analyses media (the
# scan's workers, their fork server) imports this package first and inherits the environment.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
