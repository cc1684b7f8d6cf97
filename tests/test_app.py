"""``audiosr app`` without a browser: the workspace (inputs, plans, jobs, files) and its HTTP server."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiosr.app import workspace as ws
from audiosr.app.workspace import AppError, Workspace
from audiosr.cli import main

STATIC = Path(ws.__file__).parent / "static"


@pytest.fixture
def workspace(tmp_path):
    w = Workspace(max_upload_mb=1.0, root=tmp_path)
    yield w
    w.close()


def _tone_file(path, sr=8000, seconds=0.5, channels=1, subtype="PCM_16"):
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(str(path), np.stack([y] * channels, axis=1), sr, subtype=subtype)
    return path


def _chunks(path, size=4096):
    data = Path(path).read_bytes()
    return [data[i : i + size] for i in range(0, len(data), size)]


def _wait(w, job, timeout=60):
    deadline = time.monotonic() + timeout
    while w.job(job.id).status in ("queued", "running"):
        assert time.monotonic() < deadline, f"job still {w.job(job.id).phase} after {timeout} s"
        time.sleep(0.05)
    return w.job(job.id)


# ----------------------------------------------------------------------------- workspace


def test_a_clip_is_the_decimated_sample_with_the_sample_as_reference(workspace):
    item = workspace.clip("speech-12k")
    d = item.describe(workspace)
    assert (d["sr"], d["frames"], d["reference_sr"], d["default_target"]) == (12000, 54000, 48000, 48000)
    assert 0 < d["bandwidth_hz"] <= 6000 and d["effective_sr"] <= 12000
    assert 12000 not in d["targets"] and 48000 in d["targets"]
    assert workspace.plan(item.id, 48000)["label"] == "pretrained speech-x4-48k"


@pytest.mark.parametrize(("ext", "subtype", "channels"), [(".flac", "PCM_24", 1), (".wav", "FLOAT", 2)])
def test_a_run_writes_the_target_rate_in_the_inputs_format(workspace, tmp_path, ext, subtype, channels):
    src = _tone_file(tmp_path / f"tone{ext}", subtype=subtype, channels=channels)
    item = workspace.upload(src.name, _chunks(src))
    assert item.describe(workspace)["default_target"] == 48000
    job = _wait(workspace, workspace.submit(item.id, 16000, "sinc"))
    assert job.status == "done", job.message
    r = job.result
    path, name, media_type = workspace.file(r["download"].split("/")[2])
    out = sf.info(str(path))
    assert (out.samplerate, out.frames, out.channels, out.subtype) == (16000, 8000, channels, subtype)
    assert name.endswith(ext) and name == r["name"] and "sinc" in name
    assert r["metrics"] is None and "no reference" in r["metrics_note"]
    assert set(r["spectrograms"]) == {"input", "output"}
    assert job.progress == 1.0


def test_a_clip_run_is_scored_against_its_reference(workspace):
    item = workspace.clip("speech-16k")
    job = _wait(workspace, workspace.submit(item.id, 48000, "sinc"))
    assert job.status == "done", job.message
    m = job.result["metrics"]
    assert 10 < m["snr"] < 60 and 0 < m["lsd"] < m["lsd_hf"]
    assert set(job.result["spectrograms"]) == {"input", "output", "reference"}
    # Another target than the reference's rate is run, but not scored.
    job = _wait(workspace, workspace.submit(item.id, 44100, "sinc"))
    assert job.result["metrics"] is None and "48000 Hz" in job.result["metrics_note"]


@pytest.mark.parametrize(
    ("name", "content", "length", "status", "message"),
    [
        ("notes.txt", b"hello", None, 400, "does not have an audio file extension"),
        ("notes.wav", b"hello, not samples", None, 400, "not an audio file audiosr can read"),
        ("empty.wav", b"", None, 400, "is empty"),
        ("big.wav", b"x", 5_000_000, 413, "above the app's upload limit of 1 MB"),
        ("big.wav", b"x" * 1_500_000, None, 413, "larger than the app's upload limit of 1 MB"),
    ],
)
def test_bad_uploads_are_refused_with_a_message_and_leave_nothing(workspace, name, content, length, status, message):
    with pytest.raises(AppError, match=message) as caught:
        workspace.upload(name, [content[i : i + 65536] for i in range(0, len(content), 65536)], length)
    assert caught.value.status == status
    assert list(workspace.folder.iterdir()) == []


def test_requests_that_cannot_run_are_refused(workspace, tmp_path):
    item = workspace.upload("tone.wav", _chunks(_tone_file(tmp_path / "tone.wav")))
    with pytest.raises(AppError, match="unknown method 'magic'"):
        workspace.submit(item.id, 16000, "magic")
    with pytest.raises(AppError, match="12345 Hz is not one"):
        workspace.plan(item.id, 12345)
    with pytest.raises(AppError, match="no such input"):
        workspace.submit("nope", 16000, "sinc")
    full = workspace.upload("noise.wav", _chunks(_noise_file(tmp_path / "noise.wav", 48000)))
    assert 48000 not in full.describe(workspace)["targets"]
    assert workspace.plan(full.id, 48000)["action"] == "skip"
    with pytest.raises(AppError, match="nothing to do"):
        workspace.submit(full.id, 48000, "sinc")
    # Above the highest target on offer there is nothing to choose (the page says so).
    fastest = ws.TARGET_RATES[-1]
    assert workspace.upload("fast.wav", _chunks(_noise_file(tmp_path / "fast.wav", fastest))).describe(workspace)[
        "targets"
    ] == []


def _noise_file(path, sr):
    sf.write(str(path), 0.1 * np.random.default_rng(0).standard_normal(sr // 2), sr)
    return path


def test_a_failing_job_reports_a_message(workspace, tmp_path, monkeypatch):
    from audiosr.planning import Plan

    def broken(self, src, dst, **kwargs):
        raise ValueError("the disk said no")

    monkeypatch.setattr(Plan, "run", broken)
    item = workspace.upload("tone.wav", _chunks(_tone_file(tmp_path / "tone.wav")))
    job = _wait(workspace, workspace.submit(item.id, 16000, "sinc"))
    assert (job.status, job.message, job.result) == ("error", "the disk said no", None)


def test_only_registered_files_are_served_and_old_inputs_are_deleted(workspace, tmp_path, monkeypatch):
    monkeypatch.setattr(ws, "_KEEP_INPUTS", 2)
    src = _tone_file(tmp_path / "tone.wav")
    first = workspace.upload("tone.wav", _chunks(src))
    token = first.play
    assert workspace.file(token)[0] == first.path
    for bad in ("", "..", "../../etc/passwd", str(first.path)):
        with pytest.raises(AppError) as caught:
            workspace.file(bad)
        assert caught.value.status == 404
    workspace.upload("tone.wav", _chunks(src))
    workspace.upload("tone.wav", _chunks(src))
    assert not first.folder.exists()
    with pytest.raises(AppError, match="no such file"):
        workspace.file(token)
    with pytest.raises(AppError, match="no such input"):
        workspace.input(first.id)


def test_formats_a_browser_cannot_play_get_a_wav_preview(workspace, tmp_path):
    src = _tone_file(tmp_path / "tone.aiff")
    item = workspace.upload(src.name, _chunks(src))
    path, name, media_type = workspace.file(item.play)
    assert (path.suffix, media_type, sf.info(str(path)).frames) == (".wav", "audio/wav", 4000)


def test_close_deletes_the_temporary_folder(tmp_path):
    w = Workspace(root=tmp_path)
    w.clip("piano-11k")
    assert any(w.folder.iterdir())
    w.close()
    assert not w.folder.exists()


def test_the_page_loads_nothing_from_elsewhere():
    for path in STATIC.iterdir():
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path.name
        assert "@import" not in text and "url(" not in text, path.name


# ----------------------------------------------------------------------------- command line


def test_the_command_says_how_to_install_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["app", "--port", "0"]) == 2
    assert "pip install 'audiosr-learn[app]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"), [(["--port", "70000"], "--port must be"), (["--max-upload-mb", "0"], "must be positive")]
)
def test_the_command_checks_its_options(args, message, capsys):
    assert main(["app", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_busy_port_is_an_error_that_says_what_to_do(capsys):
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err


# ----------------------------------------------------------------------------- HTTP


@pytest.fixture
def server(tmp_path):
    """The app on a free port in a thread of this process; yields its base URL."""
    pytest.importorskip("starlette")
    uvicorn = pytest.importorskip("uvicorn")
    from audiosr.app.server import _LOOPBACK_NAMES, bind, create_app

    w = Workspace(max_upload_mb=1.0, root=tmp_path)
    sock = bind("127.0.0.1", 0)
    app = create_app(w, allowed_hosts=_LOOPBACK_NAMES)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", w
    srv.should_exit = True
    thread.join(10)
    sock.close()
    assert not w.folder.exists(), "shutting the server down must delete the workspace"


def _request(url, data=None, headers=None, method=None):
    # The page's own header, which every request that changes something needs.
    req = urllib.request.Request(url, data=data, headers={"X-Audiosr": "1", **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_page_is_served_with_a_strict_content_security_policy(server):
    url, _ = server
    status, headers, body = _request(url + "/")
    assert status == 200 and b"<title>audiosr app</title>" in body
    assert "default-src 'self'" in headers["content-security-policy"]
    status, _, body = _request(url + "/static/app.js")
    assert status == 200 and b"A/B" in body
    config = json.loads(_request(url + "/api/config")[2])
    assert {c["name"] for c in config["clips"]} == set(ws.CLIPS) and config["max_upload_mb"] == 1.0


def test_errors_are_json_messages(server, tmp_path):
    url, _ = server
    status, _, body = _request(url + "/api/upload?name=notes.wav", data=b"not audio", method="POST")
    assert status == 400 and "not an audio file" in json.loads(body)["error"]
    status, _, body = _request(url + "/api/upload?name=big.wav", data=b"x" * 1_200_000, method="POST")
    assert status == 413 and "upload limit of 1 MB" in json.loads(body)["error"]
    status, _, body = _request(url + "/api/run", data=b"{", headers={"Content-Type": "application/json"}, method="POST")
    assert status == 400 and "not JSON" in json.loads(body)["error"]
    for path in ("/files/x/y", "/files/..%2F..%2Fetc/passwd", "/files/%2e%2e/%2e%2e", "/api/jobs/nope", "/nothing"):
        status, _, body = _request(url + path)
        assert status == 404 and json.loads(body)["error"], path


def _raw_post(url, path, body_size, send_body=True, headers=()):
    """Status line of a POST of ``body_size`` bytes sent whole (or only announced) before the answer is read."""
    host, port = url.removeprefix("http://").split(":")
    # "Connection: close", as urllib sends it: the server closes the connection after its answer.
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "X-Audiosr: 1", f"Content-Length: {body_size}"]
    head += ["Connection: close", *headers]
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        if send_body:
            sock.sendall(b"x" * body_size)
        return sock.makefile("rb").readline().decode()


@pytest.mark.parametrize(
    "path, expected",
    [("/api/upload?name=big.wav", "413"), ("/api/upload?name=notes.txt", "400"), ("/api/clip/speech-12k", "200")],
)
def test_a_body_left_unread_does_not_reset_the_connection(server, path, expected):
    # Far more than the sockets buffer: a server that answers and closes with it unread resets the
    # connection, and the client sees "connection reset" instead of the error (a flake in CI once).
    url, _ = server
    status = _raw_post(url, path, 16 * 2**20)
    assert status.split()[1] == expected, status


def test_a_client_that_waits_for_100_continue_gets_the_refusal_at_once(server):
    url, _ = server
    status = _raw_post(url, "/api/upload?name=big.wav", 16 * 2**20, send_body=False, headers=["Expect: 100-continue"])
    assert status.split()[1] == "413", status


def test_a_post_without_the_pages_header_is_refused(server, tmp_path):
    # What another site's page could send without asking the app first (no custom header).
    url, w = server
    src = _tone_file(tmp_path / "tone.wav")
    status, _, body = _request(url + "/api/upload?name=tone.wav", data=src.read_bytes(), headers={"X-Audiosr": ""})
    assert status == 403 and "header X-Audiosr" in json.loads(body)["error"]
    status, _, _ = _request(url + "/api/clip/speech-12k", data=b"", headers={"X-Audiosr": ""})
    assert status == 403
    assert list(w.folder.iterdir()) == []


def test_a_foreign_host_header_is_refused(server):
    # A web page that rebinds its own name to 127.0.0.1 sends its name as Host.
    url, _ = server
    status, _, _ = _request(url + "/api/config", headers={"Host": "attacker.example"})
    assert status == 400


def test_a_run_through_http(server, tmp_path):
    url, _ = server
    src = _tone_file(tmp_path / "tone.flac")
    status, _, body = _request(url + "/api/upload?name=tone.flac", data=src.read_bytes(), method="POST")
    assert status == 200, body
    item = json.loads(body)
    plan = json.loads(_request(f"{url}/api/plan?input={item['id']}&target=16000&method=sinc")[2])
    assert plan["action"] == "upsample" and plan["label"] == "sinc"
    request = json.dumps({"input": item["id"], "target": 16000, "method": "sinc"}).encode()
    job = json.loads(_request(url + "/api/run", data=request, headers={"Content-Type": "application/json"})[2])
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = json.loads(_request(f"{url}/api/jobs/{job['id']}")[2])
    assert job["status"] == "done", job["message"]
    status, headers, body = _request(url + job["result"]["download"] + "?download=1")
    assert status == 200 and headers["content-disposition"].startswith("attachment")
    path = tmp_path / "out.flac"
    path.write_bytes(body)
    assert (sf.info(str(path)).samplerate, sf.info(str(path)).frames) == (16000, 8000)
    # Players seek with range requests.
    status, headers, body = _request(url + job["result"]["play"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100
    status, headers, _ = _request(url + job["result"]["spectrograms"]["output"])
    assert status == 200 and headers["content-type"] == "image/png"
