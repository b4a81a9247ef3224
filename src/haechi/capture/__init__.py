"""Web capture: fetch a page and its media into a WARC file, the evidentiary copy, which the
`warc` source then scans like any other WARC."""

from haechi.capture.guard import URLRefusedError, check_url
from haechi.capture.page import Capture, Fetch, capture_page, evidence_file

__all__ = ["Capture", "Fetch", "URLRefusedError", "capture_page", "check_url", "evidence_file"]
