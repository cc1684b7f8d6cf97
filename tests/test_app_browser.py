"""``audiosr app`` in a real browser: headless Chromium driven by Selenium against the command's own server.

The system's ``chromium`` and ``chromedriver`` are used (Debian's ``chromium`` and
``chromium-driver`` packages; ``make test`` installs them when missing); nothing is
downloaded. Without them the test is skipped, unless ``AUDIOSR_REQUIRE_BROWSER=1``
(set by ``make test``), where it fails instead. ``AUDIOSR_APP_SCREENSHOT=PATH`` saves a
screenshot of the page with a result on it (the one in the docs comes from there).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = os.environ.get("AUDIOSR_REQUIRE_BROWSER") == "1"


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(f"{reason}; AUDIOSR_REQUIRE_BROWSER=1 says the browser test must run (make test installs it).")
    pytest.skip(reason)


def _browser_paths():
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((shutil.which(n) for n in names if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        _unavailable("headless Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``audiosr app --port 0`` in a subprocess; after the tests, its temporary files must be gone."""
    for module in ("starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            _unavailable(f"the app extra is not installed ({module} missing): pip install -e '.[app]'")
    tmp = tmp_path_factory.mktemp("app-tmp")
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiosr", "app", "--port", "0", "--max-upload-mb", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines, ready = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "serving on" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        pytest.fail("audiosr app did not start:\n" + "".join(lines))
    url = next(line for line in lines if "serving on" in line).split("serving on ")[1].split()[0]
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("audiosr app did not stop on Ctrl-C:\n" + "".join(lines))
    assert "Traceback" not in "".join(lines), "".join(lines)
    assert not list(tmp.glob("audiosr-app-*")), "the app left its temporary folder behind"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from selenium import webdriver
    except ImportError:
        _unavailable("selenium is not installed (it is in the test extra)")
    binary, driver_path = _browser_paths()
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,1000",
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for a driver online
    try:
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    except Exception as exc:  # noqa: BLE001 - any failure to start the browser is the same verdict
        _unavailable(f"headless Chromium did not start: {exc}")
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait(driver, condition, what, timeout=60):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page re-renders parts of itself as a job advances: an element found a moment ago
    # can be replaced before it is read. That is a reason to look again, not a failure.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(
            lambda d: condition(d)
        )
    except Exception as exc:
        error = driver.find_element("id", "error").text
        raise AssertionError(f"waited {timeout} s for {what} ({type(exc).__name__}); the page says: {error!r}") from None


def _state(driver):
    return driver.find_element("tag name", "body").get_attribute("data-state")


def _run(driver, method, rows_before):
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "method")).select_by_value(method)
    _wait(driver, lambda d: d.find_element("id", "run").is_enabled(), f"the plan of {method}")
    driver.find_element("id", "run").click()
    _wait(driver, lambda d: _state(d) in ("done", "error"), f"the {method} run")
    assert _state(driver) == "done", driver.find_element("id", "error").text
    rows = driver.find_elements("css selector", "#metrics tbody tr")
    assert len(rows) == rows_before + 1
    return [c.text for c in rows[-1].find_elements("tag name", "td")]


def _media_ready(driver, name):
    return driver.execute_script(f"return document.getElementById('player-{name}').readyState") >= 1


def _download(driver, link_text_part):
    link = driver.find_element("id", "download")
    name = link.text.removeprefix("Download ")
    assert link_text_part in name
    link.click()
    target = driver.downloads / name
    done = lambda d: target.is_file() and not list(d.downloads.glob("*.crdownload"))  # noqa: E731
    _wait(driver, done, f"the download of {name}", 30)
    return sf.info(str(target))


def test_app_in_a_browser(app_url, browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from audiosr.datasets import load_sample
    from audiosr.signal import decimate

    driver = browser
    driver.get(app_url)
    _wait(driver, lambda d: _state(d) == "idle", "the page to load its configuration", 30)

    # A shipped clip: speech decimated to 12 kHz, its 48 kHz original as the reference.
    Select(driver.find_element("id", "clip-select")).select_by_value("speech-12k")
    driver.find_element("id", "clip-button").click()
    _wait(driver, lambda d: _state(d) == "ready", "the clip's facts", 30)
    assert driver.find_element("id", "fact-rate").text == "12,000 Hz"
    assert driver.find_element("id", "fact-duration").text == "4.50 s"
    assert "kHz" in driver.find_element("id", "fact-bandwidth").text
    assert Select(driver.find_element("id", "target")).first_selected_option.get_attribute("value") == "48000"
    # The plan's default is preselected and named: the shipped model for 12 kHz speech.
    _wait(driver, lambda d: "speech-x4-48k" in d.find_element("id", "plan").text, "the default plan")
    assert Select(driver.find_element("id", "method")).first_selected_option.get_attribute("value") == "auto"

    model = _run(driver, "auto", 0)
    assert model[0] == "pretrained speech-x4-48k" and model[1] == "48,000 Hz"
    sinc = _run(driver, "sinc", 1)
    assert sinc[0] == "sinc"
    # The scores are numbers, and the model restores the high band that sinc leaves empty.
    snr_model, lsd_model, hf_model = (float(v) for v in model[2:5])
    snr_sinc, lsd_sinc, hf_sinc = (float(v) for v in sinc[2:5])
    assert hf_model < hf_sinc and lsd_model < lsd_sinc
    assert 0 < snr_sinc < 60 and 0 < snr_model < 60

    # Players (loaded by the browser), spectrogram images and the A/B switch.
    for name in ("input", "output", "reference"):
        _wait(driver, lambda d, name=name: _media_ready(d, name), f"the {name} player", 20)
        assert driver.find_element("id", f"panel-{name}").is_displayed()
        _wait(
            driver,
            lambda d, name=name: d.execute_script(
                f"const i = document.getElementById('spec-{name}'); return i.complete && i.naturalWidth > 300"
            ),
            f"the {name} spectrogram",
            20,
        )
    duration = driver.execute_script("return document.getElementById('player-output').duration")
    assert abs(duration - 4.5) < 0.01
    playing = "return !document.getElementById('player-{}').paused"
    driver.find_element("id", "ab-play").click()
    _wait(driver, lambda d: d.execute_script(playing.format("input")), "playback")
    position = "return document.getElementById('player-input').currentTime"
    _wait(driver, lambda d: d.execute_script(position) > 0.3, "playback to advance")
    driver.find_element("css selector", "input[name=ab][value=output]").click()
    _wait(driver, lambda d: d.execute_script(playing.format("output")), "the switch")
    # The switch keeps the position: the output starts where the input stopped.
    times = driver.execute_script(
        "const p = (n) => document.getElementById('player-' + n);"
        "return [p('input').paused, p('input').currentTime, p('output').currentTime]"
    )
    # (The output has played on meanwhile: by a Selenium round trip or two, longer on a loaded machine.)
    assert times[0] and times[1] > 0.3 and -0.1 <= times[2] - times[1] < 3.0, times
    driver.find_element("id", "ab-play").click()

    # The result is the last run (sinc): download it and check its rate and length.
    downloaded = _download(driver, "sinc")
    assert (downloaded.samplerate, downloaded.frames, downloaded.format) == (48000, 4 * 54000, "WAV")

    screenshot = os.environ.get("AUDIOSR_APP_SCREENSHOT")
    if screenshot:
        driver.find_element("css selector", "#metrics tbody tr").click()  # show the model's result
        # The window's height is the page's plus the browser's own frame around the viewport.
        height = driver.execute_script(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
        )
        driver.set_window_size(1360, height)
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.5)
        driver.save_screenshot(screenshot)
        driver.set_window_size(1360, 1000)

    # An upload: a 16 kHz speech file, to 48 kHz with the plan's choice; no reference, no scores.
    y, sr = load_sample("speech")
    talk = tmp_path / "talk_16k.flac"
    sf.write(str(talk), decimate(y[: y.size // 3 * 3], 3), sr // 3, subtype="PCM_24")
    driver.find_element("id", "file-input").send_keys(str(talk))
    loaded = lambda d: d.find_element("id", "fact-rate").text == "16,000 Hz" and _state(d) == "ready"  # noqa: E731
    _wait(driver, loaded, "the upload")
    _wait(driver, lambda d: d.find_element("id", "plan").text.startswith("Plan:"), "the upload's plan")
    row = _run(driver, "auto", 0)
    assert row[2:5] == ["–", "–", "–"]
    assert "no reference" in driver.find_element("id", "metrics-note").text
    assert not driver.find_element("id", "panel-reference").is_displayed()
    downloaded = _download(driver, "talk_16k")
    assert (downloaded.samplerate, downloaded.frames) == (48000, 3 * (y.size // 3))
    assert (downloaded.format, downloaded.subtype) == ("FLAC", "PCM_24")  # the input's format

    # Not audio: a message on the page, no traceback.
    bogus = tmp_path / "notes.wav"
    bogus.write_text("these are not samples")
    driver.find_element("id", "file-input").send_keys(str(bogus))
    _wait(driver, lambda d: _state(d) == "error", "the error message")
    message = driver.find_element("id", "error").text
    assert "not an audio file" in message and "notes.wav" in message
    assert "Traceback" not in driver.page_source

    # Too large for the upload limit (1 MB here), and a rate above every target on offer.
    big = tmp_path / "big.wav"
    sf.write(str(big), np.zeros(600_000), 16000)
    driver.find_element("id", "file-input").send_keys(str(big))
    _wait(driver, lambda d: "upload limit of 1 MB" in d.find_element("id", "error").text, "the size message")
    fast = tmp_path / "fast.wav"
    sf.write(str(fast), 0.1 * np.random.default_rng(0).standard_normal(96000), 192000)
    driver.find_element("id", "file-input").send_keys(str(fast))
    told = lambda d: "offers target rates up to 192,000 Hz" in d.find_element("id", "error").text  # noqa: E731
    _wait(driver, told, "the rate message")
    assert not driver.find_element("id", "step-run").is_displayed()

    # Everything the page loaded came from the app itself.
    origins = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
        ".filter(o => o !== location.origin)"
    )
    assert origins == []
