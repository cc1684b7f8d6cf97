"""``audiosr app``: a local web page to hear and see what audiosr does to a file.

Drop an audio file (or pick a shipped clip), see what was detected (rate, channels,
duration, the bandwidth the content really has), choose a target rate and a method
(the plan's choice preselected), run it with visible progress, then listen to input,
output and reference with an A/B switch, compare their spectrograms on one colour
scale, read SNR / LSD / LSD-HF where a reference exists, and download the result in the
input's format. Everything runs on this computer: the page loads nothing from the
internet and reports nothing.

It needs the ``app`` extra (Starlette and uvicorn): ``pip install 'audiosr-learn[app]'``.
The core package does not depend on it; :mod:`audiosr.app.workspace` (inputs, plans,
jobs) imports neither.
"""

from __future__ import annotations

__all__ = ["serve", "create_app", "MISSING_EXTRA"]

#: What to tell a user who runs the app without its extra.
MISSING_EXTRA = "the app needs the app extra (Starlette and uvicorn): pip install 'audiosr-learn[app]'"


def _server():
    try:
        # Checked here, so that the message comes before anything starts.
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{MISSING_EXTRA} ({exc}).") from None
    from . import server

    return server


def serve(host="127.0.0.1", port=8000, *, max_upload_mb=500.0, echo=print):
    """Serve the app on ``host:port`` until interrupted; see :func:`audiosr.app.server.serve`."""
    return _server().serve(host, port, max_upload_mb=max_upload_mb, echo=echo)


def create_app(workspace, *, allowed_hosts=None):
    """The Starlette application over a workspace; see :func:`audiosr.app.server.create_app`."""
    return _server().create_app(workspace, allowed_hosts=allowed_hosts)
