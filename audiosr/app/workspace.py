"""What the app does with audio, without any web framework: inputs, plans, jobs and the files they write.

A :class:`Workspace` owns one temporary folder. Every input (an upload or a shipped
clip) gets a folder of its own in it; every file the app writes is registered under an
unguessable token, and only registered files can be served, so no request can name a
path. Jobs run one at a time on a worker thread, so the server stays responsive while a
long file is up-sampled in blocks; the page polls :meth:`Workspace.job`.
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import pretrained
from ..bandwidth import Bandwidth, file_bandwidth
from ..classical import CLASSICAL_METHODS
from ..datasets import load_sample
from ..io import AUDIO_EXTENSIONS, info, load, save
from ..metrics import length_mismatch, lsd, lsd_hf, snr
from ..planning import STANDARD_RATES, plan
from ..plotting import plot_spectrogram
from ..signal import decimate

__all__ = ["Workspace", "AppError", "CLIPS", "TARGET_RATES"]

log = logging.getLogger("audiosr.app")

#: Shipped clips offered on the page: name -> (sample, decimation factor). The input is the
#: sample decimated by the factor; the sample itself is the reference the result is scored against.
CLIPS = {
    "speech-12k": ("speech", 4),
    "speech-16k": ("speech", 3),
    "piano-11k": ("piano", 4),
}

#: Output rates offered on the page.
TARGET_RATES = tuple(r for r in STANDARD_RATES if r >= 8000) + (192000,)

# Formats Chromium and Firefox play in an <audio> element; other inputs and outputs get a
# WAV preview of their first minutes for listening (the download keeps the real format).
_PLAYABLE = {"WAV", "FLAC", "OGG", "MP3"}
_PREVIEW_SECONDS = 600
# Spectrograms show the start of a long file: drawing an hour would take long and show nothing.
SPECTROGRAM_SECONDS = 30.0
# Only the newest inputs are kept; older ones (and their results) are deleted.
_KEEP_INPUTS = 8


class AppError(Exception):
    """A problem with a request, told to the user as a message (never a traceback).

    ``status`` is the HTTP status the server answers with.
    """

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclass
class _File:
    path: Path
    name: str  # the name a download gets
    media_type: str


@dataclass
class Input:
    id: str
    folder: Path
    path: Path
    name: str
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str
    bandwidth: Bandwidth
    effective_sr: int
    play: str  # token of a file the browser can play
    clip: str | None = None
    reference: Path | None = None
    reference_sr: int | None = None
    reference_play: str | None = None

    def describe(self, workspace):
        """The input as JSON for the page: what was detected, the targets on offer and the preselected one."""
        targets = [r for r in TARGET_RATES if r > self.sr or (r == self.sr and self.effective_sr < self.sr)]
        return {
            "id": self.id,
            "name": self.name,
            "clip": self.clip,
            "sr": self.sr,
            "channels": self.channels,
            "frames": self.frames,
            "duration": self.frames / self.sr,
            "format": self.format,
            "subtype": self.subtype,
            "bandwidth_hz": float(self.bandwidth.hz),
            "bandwidth_confidence": float(self.bandwidth.confidence),
            "bandwidth_evidence": self.bandwidth.evidence,
            "effective_sr": self.effective_sr,
            "targets": targets,
            "default_target": self.reference_sr or _default_target(self.sr, targets),
            "play": workspace.url(self.play),
            "reference": workspace.url(self.reference_play) if self.reference_play else None,
            "reference_sr": self.reference_sr,
        }


@dataclass
class Job:
    id: str
    input: Input
    target_sr: int
    method: str
    status: str = "queued"  # queued, running, done, skipped, error
    phase: str = "waiting for the job before it"
    progress: float = 0.0
    message: str = ""
    plan: str = ""
    label: str = ""
    started: float = field(default_factory=time.monotonic)
    elapsed: float | None = None
    result: dict | None = None

    def describe(self):
        return {
            "id": self.id,
            "input": self.input.id,
            "target_sr": self.target_sr,
            "method": self.method,
            "label": self.label,
            "status": self.status,
            "phase": self.phase,
            "progress": self.progress,
            "message": self.message,
            "plan": self.plan,
            "elapsed": self.elapsed,
            "result": self.result,
        }


def _default_target(sr, targets):
    """48 kHz for anything below it; else the next rate up."""
    if not targets:
        return None
    return 48000 if 48000 in targets else targets[0]


def _safe_stem(name):
    """A file-name stem made of letters, digits, dots, dashes and underscores only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._") or "audio"
    return stem[:60]


def _media_type(fmt):
    return {"WAV": "audio/wav", "FLAC": "audio/flac", "OGG": "audio/ogg", "MP3": "audio/mpeg"}.get(
        fmt, "application/octet-stream"
    )


def methods():
    """The methods on offer: classical interpolators and the shipped models, with their rates."""
    out = [{"name": m, "kind": "classical"} for m in sorted(CLASSICAL_METHODS)]
    for name in pretrained.list():
        meta = pretrained.info(name)
        out.append(
            {
                "name": name,
                "kind": "model",
                "input_sr": meta["input_sr"],
                "output_sr": meta["output_sr"],
                "rate": meta["rate"],
            }
        )
    return out


class Workspace:
    """The app's state: a temporary folder, the inputs in it, and a worker thread that runs jobs.

    Parameters
    ----------
    max_upload_mb : float, default=500
        Largest upload accepted, in megabytes.
    root : str, path-like or None
        Folder under which the workspace's own temporary folder is made (default: the
        system's temporary folder). The temporary folder is deleted by :meth:`close`.
    """

    def __init__(self, max_upload_mb=500.0, root=None):
        if not max_upload_mb > 0:
            raise ValueError(f"max_upload_mb must be positive, got {max_upload_mb!r}.")
        self.max_upload_bytes = int(max_upload_mb * 1e6)
        self.folder = Path(tempfile.mkdtemp(prefix="audiosr-app-", dir=root))
        self._lock = threading.Lock()
        self._files = {}
        self._inputs = {}
        self._jobs = {}
        self._queue = queue.Queue()
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="audiosr-app-worker", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ files

    def _register(self, path, name, media_type):
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._files[token] = _File(Path(path), name, media_type)
        return token

    def url(self, token):
        """The address under which the server serves a registered file."""
        return f"/files/{token}/{self._files[token].name}"

    def file(self, token):
        """``(path, download name, media type)`` of a file the app wrote; :class:`AppError` 404 for any other token."""
        with self._lock:
            entry = self._files.get(token)
        if entry is None or not entry.path.is_file():
            raise AppError("no such file (it may have been deleted with an older input).", status=404)
        return entry.path, entry.name, entry.media_type

    def _playable(self, path, name, fmt, sr):
        """Token of ``path`` itself when a browser plays its format, else of a WAV preview of its start."""
        if fmt in _PLAYABLE:
            return self._register(path, name, _media_type(fmt))
        preview = path.with_name(f"{path.stem}.preview.wav")
        with sf.SoundFile(str(path)) as reader:
            data = reader.read(min(reader.frames, _PREVIEW_SECONDS * sr), dtype="float32", always_2d=True)
        sf.write(str(preview), data, sr, subtype="FLOAT")
        return self._register(preview, f"{Path(name).stem}.preview.wav", "audio/wav")

    # ------------------------------------------------------------------ inputs

    def _new_folder(self):
        input_id = secrets.token_urlsafe(12)
        folder = self.folder / input_id
        folder.mkdir()
        return input_id, folder

    def upload(self, name, chunks, length=None):
        """Store an uploaded file and describe it.

        Parameters
        ----------
        name : str
            The file's name on the user's machine (only its extension is used, for the format).
        chunks : iterable of bytes
            The file's content.
        length : int or None
            The announced size, checked before anything is read.

        Returns
        -------
        input : Input
        """
        ext = Path(name or "").suffix.lower()
        if ext not in AUDIO_EXTENSIONS:
            common = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
            known = ", ".join(sorted(e for e in common if e in AUDIO_EXTENSIONS))
            raise AppError(f"'{name}' does not have an audio file extension that audiosr reads ({known}, ...).")
        limit_mb = self.max_upload_bytes / 1e6
        if length is not None and length > self.max_upload_bytes:
            raise AppError(
                f"'{name}' is {length / 1e6:.1f} MB, above the app's upload limit of {limit_mb:g} MB "
                "(start the app with --max-upload-mb to raise it, or use `audiosr upsample`).",
                status=413,
            )
        input_id, folder = self._new_folder()
        path = folder / f"{_safe_stem(name)}{ext}"
        try:
            size = 0
            with open(path, "wb") as fh:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_upload_bytes:
                        raise AppError(
                            f"'{name}' is larger than the app's upload limit of {limit_mb:g} MB "
                            "(start the app with --max-upload-mb to raise it, or use `audiosr upsample`).",
                            status=413,
                        )
                    fh.write(chunk)
            if size == 0:
                raise AppError(f"'{name}' is empty.")
            return self._add_input(input_id, folder, path, name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def clip(self, clip):
        """Make an input from a shipped clip: the clip decimated, with the clip as its reference."""
        if clip not in CLIPS:
            raise AppError(f"unknown clip {clip!r}; the shipped ones are {sorted(CLIPS)}.")
        sample, factor = CLIPS[clip]
        y, sr = load_sample(sample)
        y = y[: y.size // factor * factor]
        input_id, folder = self._new_folder()
        try:
            reference = folder / f"{sample}_{sr}Hz_reference.flac"
            save(reference, y, sr)
            path = folder / f"{sample}_{sr // factor}Hz.wav"
            save(path, decimate(y, factor), sr // factor)
            item = self._add_input(input_id, folder, path, path.name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        item.clip, item.reference, item.reference_sr = clip, reference, sr
        item.reference_play = self._register(reference, reference.name, "audio/flac")
        return item

    def _add_input(self, input_id, folder, path, name):
        try:
            i = info(path)
        except ValueError:
            raise AppError(
                f"'{name}' is not an audio file audiosr can read (libsndfile reads WAV, FLAC, OGG, AIFF, MP3, ...)."
            ) from None
        if i.frames == 0:
            raise AppError(f"'{name}' contains no samples.")
        try:
            bw = file_bandwidth(path)
            # The plan's effective rate: the rate the content is treated as.
            hint = {"input_bandwidth": bw, "detect": True} if bw.hz > 0 else {"detect": False}
            effective = plan(path, int(i.samplerate) * 2, **hint).effective_sr
        except ValueError as exc:
            raise AppError(f"'{name}': {exc}") from None
        item = Input(
            id=input_id,
            folder=folder,
            path=path,
            name=name,
            sr=int(i.samplerate),
            channels=int(i.channels),
            frames=int(i.frames),
            format=i.format,
            subtype=i.subtype,
            bandwidth=bw,
            effective_sr=int(effective),
            play=self._playable(path, path.name, i.format, int(i.samplerate)),
        )
        with self._lock:
            self._inputs[input_id] = item
            old = [k for k in self._inputs if k != input_id][: max(0, len(self._inputs) - _KEEP_INPUTS)]
            busy = {j.input.id for j in self._jobs.values() if j.status in ("queued", "running")}
            for k in old:
                if k not in busy:
                    self._forget(k)
        return item

    def _forget(self, input_id):
        """Delete an input, its results and their tokens (called with the lock held)."""
        item = self._inputs.pop(input_id)
        self._files = {t: f for t, f in self._files.items() if item.folder not in f.path.parents}
        self._jobs = {k: j for k, j in self._jobs.items() if j.input.id != input_id}
        shutil.rmtree(item.folder, ignore_errors=True)

    def input(self, input_id):
        with self._lock:
            item = self._inputs.get(input_id)
        if item is None:
            raise AppError("no such input (it may have been replaced by newer ones): load the file again.", status=404)
        return item

    # ------------------------------------------------------------------ plans and jobs

    def _plan(self, item, target_sr, method):
        valid = ["auto", *sorted(CLASSICAL_METHODS), *pretrained.list()]
        if method not in valid:
            raise AppError(f"unknown method {method!r}; choose one of {valid}.")
        try:
            target_sr = int(target_sr)
        except (TypeError, ValueError):
            raise AppError(f"the target rate must be a whole number of Hz, got {target_sr!r}.") from None
        if target_sr not in TARGET_RATES:
            raise AppError(f"the app offers the target rates {list(TARGET_RATES)} Hz; {target_sr} Hz is not one.")
        bw = item.bandwidth
        hint = {"input_bandwidth": bw, "detect": True} if bw.hz > 0 else {"detect": False}
        try:
            return plan(item.path, target_sr, method=method, **hint)
        except ValueError as exc:
            raise AppError(str(exc)) from None

    def plan(self, input_id, target_sr, method="auto"):
        """What running ``method`` to ``target_sr`` on an input would do, as JSON for the page."""
        item = self.input(input_id)
        p = self._plan(item, target_sr, method)
        return {
            "action": p.action,
            "label": p.method_label,
            "line": p.describe().split(": ", 1)[1],
            "reason": p.reason,
            "steps": p.steps,
        }

    def submit(self, input_id, target_sr, method="auto"):
        """Queue a job; the plan is checked first, so a request that cannot run fails at once."""
        item = self.input(input_id)
        p = self._plan(item, target_sr, method)
        if p.action == "skip":
            raise AppError(f"nothing to do: {p.reason}.")
        job = Job(id=secrets.token_urlsafe(12), input=item, target_sr=int(target_sr), method=method)
        job.plan, job.label = p.describe().split(": ", 1)[1], p.method_label
        with self._lock:
            self._jobs[job.id] = job
        self._queue.put((job, p))
        return job

    def job(self, job_id):
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise AppError("no such job.", status=404)
        return job

    def _work(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, the_plan = item
            try:
                self._run(job, the_plan)
                job.status = "done"
                job.phase = "done"
            except Exception as exc:  # noqa: BLE001 - any failure is reported on the page, not raised in a thread
                if self._closed:
                    return
                log.exception("job %s failed", job.id)
                job.status, job.phase = "error", "failed"
                told = isinstance(exc, (AppError, ValueError, OSError))  # errors whose text is written for users
                job.message = str(exc) if told else f"processing failed: {exc}"
            job.elapsed = time.monotonic() - job.started

    def _run(self, job, the_plan):
        item = job.input
        job.started = time.monotonic()
        job.status = "running"
        if isinstance(the_plan.method, str) and the_plan.method not in CLASSICAL_METHODS:
            job.phase = f"loading {the_plan.method_label}"
            the_plan.upsampler()
        job.phase = "up-sampling"
        label = _safe_stem(the_plan.method_label.replace("pretrained ", ""))
        out = item.folder / f"{item.path.stem}_{label}_{job.target_sr}Hz{item.path.suffix}"

        def progress(done, total):
            job.progress = done / total
            job.phase = f"up-sampling: {done / item.sr:.1f} of {total / item.sr:.1f} s"

        sr_out = the_plan.run(item.path, out, progress=progress)
        o = info(out)
        job.phase = "drawing spectrograms"
        top = sr_out / 2
        title = f"output ({the_plan.method_label}), {sr_out} Hz"
        spectrograms = {
            "input": self._spectrogram(item.path, item.folder / f"{out.stem}.input.png", f"input, {item.sr} Hz", top),
            "output": self._spectrogram(out, out.with_suffix(".png"), title, top),
        }
        if item.reference is not None:
            spectrograms["reference"] = self._spectrogram(
                item.reference, item.folder / f"{out.stem}.reference.png", f"reference, {item.reference_sr} Hz", top
            )
        metrics, note = None, "no reference: metrics are shown for the shipped clips, which have one."
        if item.reference is not None:
            job.phase = "scoring"
            metrics, note = _score(item, out, sr_out)
        download = self._register(out, out.name, _media_type(o.format))
        job.progress = 1.0
        job.result = {
            "sr": sr_out,
            "frames": int(o.frames),
            "channels": int(o.channels),
            "duration": o.frames / sr_out,
            "format": o.format,
            "subtype": o.subtype,
            "name": out.name,
            "download": self.url(download),
            "play": self.url(self._playable(out, out.name, o.format, sr_out)),
            "spectrograms": {k: self.url(v) for k, v in spectrograms.items()},
            "spectrogram_seconds": min(SPECTROGRAM_SECONDS, item.frames / item.sr),
            "metrics": metrics,
            "metrics_note": note,
        }

    def _spectrogram(self, path, png, title, top):
        with sf.SoundFile(str(path)) as reader:
            sr = reader.samplerate
            y = reader.read(min(reader.frames, int(SPECTROGRAM_SECONDS * sr)), dtype="float32", always_2d=True)
        plot_spectrogram(y.mean(axis=1), sr, png, title=title, max_hz=top)
        return self._register(png, png.name, "image/png")

    # ------------------------------------------------------------------ end

    def close(self):
        """Stop the worker and delete the temporary folder with everything in it."""
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)


def _score(item, out, sr_out):
    """SNR, LSD and LSD-HF of the output against the clip's reference, or why there are none."""
    if sr_out != item.reference_sr:
        rate = item.reference_sr
        return None, f"the scores compare with the {rate} Hz reference: choose {rate} Hz as the target to see them."
    y, _ = load(item.reference, dtype=np.float64)
    y_hat, _ = load(out, dtype=np.float64)
    mismatch = length_mismatch(y.size, y_hat.size, sr=sr_out, names=("the reference", "the output"))
    if mismatch is not None:
        return None, f"{mismatch}: not scored."
    n = min(y.size, y_hat.size)
    y, y_hat = y[:n], y_hat[:n]
    rate = sr_out / item.sr
    return {"snr": float(snr(y, y_hat)), "lsd": float(lsd(y, y_hat)), "lsd_hf": float(lsd_hf(y, y_hat, rate=rate))}, (
        f"against the {item.reference_sr} Hz clip the input was made from; LSD-HF over the band above "
        f"{item.sr / 2000:g} kHz (the input's Nyquist frequency)."
    )

