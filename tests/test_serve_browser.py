"""The demo page in a real browser: headless Debian Chromium driven by Selenium.

Draws a 1 and a 7 with pointer actions on ``#pad`` and reads ``#prediction``; uploads a
PNG through the file input; switches to Chinese; checks that the console stays free of
errors and that no request leaves 127.0.0.1 (Chromium also runs with every other host
unresolvable and a proxy that refuses everything, so a stray request would fail loudly).
"""

from __future__ import annotations

import io
import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import bundled_model, digit_png

from scratchcnn.explain import DigitExplainer
from scratchcnn.i18n import MESSAGES
from scratchcnn.images import load_image_as_mnist
from scratchcnn.server import make_server

pytest.importorskip("PIL.Image")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def server():
    """The demo as ``scratchcnn serve`` runs it on a multi-core machine: two worker
    processes answer; the sizes of the images the page sends are recorded."""
    from PIL import Image

    log = _Lines()
    demo = make_server(
        DigitExplainer(bundled_model(), "bundled"), "127.0.0.1", 0, log=log, workers=2
    )
    demo.image_sizes = []
    answer = demo.respond

    def recording(kind: str, body: bytes) -> tuple[int, bytes]:
        if kind.startswith("image/"):
            with Image.open(io.BytesIO(body)) as image:
                demo.image_sizes.append(image.size)
        return answer(kind, body)

    demo.respond = recording
    thread = threading.Thread(target=demo.serve_forever, daemon=True)
    thread.start()
    demo.request_log = log
    yield demo
    demo.shutdown()
    demo.server_close()
    thread.join(5)


class _Lines(io.StringIO):
    """A thread-safe text sink for the server's request log."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return super().write(text)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        # Nothing but 127.0.0.1 resolves, and everything not loopback goes to a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


def open_page(driver, server) -> str:
    url = server.url
    driver.get(url)
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )
    return url


def wait_for_answer(driver, previous: str | None = None) -> str:
    """Wait until no request is pending and ``#prediction`` shows an answer; return it."""

    def settled(d):
        state = d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        text = d.find_element(By.ID, "prediction").text
        return text if state == "idle" and text and text != previous else False

    return WebDriverWait(driver, 30).until(settled)


def draw(driver, strokes, kind=interaction.POINTER_MOUSE) -> None:
    """Draw polylines given in fractions of the pad (0..1, from its top left)."""
    pad = driver.find_element(By.ID, "pad")
    width, height = pad.size["width"], pad.size["height"]
    builder = ActionBuilder(driver, mouse=PointerInput(kind, kind))
    pointer = builder.pointer_action
    for line in strokes:
        points = [(int((x - 0.5) * width), int((y - 0.5) * height)) for x, y in line]
        pointer.move_to(pad, *points[0])
        pointer.pointer_down()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 9):
                f = step / 8
                pointer.move_to(pad, int(x0 + f * (x1 - x0)), int(y0 + f * (y1 - y0)))
        pointer.pointer_up()
    builder.perform()


def console_errors(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_drawing_a_one_and_a_seven_with_mouse_and_touch(driver, server):
    open_page(driver, server)
    assert driver.find_element(By.ID, "prediction").text == ""
    draw(driver, [[(0.5, 0.15), (0.5, 0.85)]])
    assert wait_for_answer(driver) == "1"
    bars = driver.find_elements(By.CSS_SELECTOR, "#bars li")
    assert len(bars) == 10 and "best" in bars[1].get_attribute("class")
    stages = driver.find_elements(By.CSS_SELECTOR, "#stages .stage canvas")
    # One picture per stage the server sends: each conv block and each pooling layer.
    sent = DigitExplainer(bundled_model(), "bundled").explain(np.zeros((28, 28), np.uint8))
    assert len(stages) == len(sent["feature_maps"]) >= 2

    driver.find_element(By.ID, "clear").click()
    WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "prediction").text == "")
    seven = [[(0.22, 0.18), (0.78, 0.18), (0.4, 0.85)]]
    draw(driver, seven, interaction.POINTER_TOUCH)
    assert wait_for_answer(driver) == "7"
    assert console_errors(driver) == []
    # The 280x280 pad goes out scaled to SEND_SIZE (web/app.js).
    assert server.image_sizes and set(server.image_sizes) == {(112, 112)}


def test_uploading_a_png_shows_the_crop_the_network_saw(driver, server, tmp_path):
    open_page(driver, server)
    png = digit_png("7")
    path = tmp_path / "seven.png"
    path.write_bytes(png)
    driver.find_element(By.ID, "file").send_keys(str(path))
    assert wait_for_answer(driver) == "7"
    assert driver.find_element(By.ID, "photo-figure").is_displayed()
    seen = driver.execute_script(
        "const c = document.getElementById('input');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)"
        ".filter((_, i) => i % 4 === 0);"
    )
    expected = load_image_as_mnist(io.BytesIO(png))
    assert np.array_equal(np.array(seen).reshape(28, 28), expected)
    assert console_errors(driver) == []
    assert server.image_sizes[-1] == (200, 200)  # a photo goes as it is


def test_the_page_switches_to_chinese(driver, server):
    open_page(driver, server)
    Select(driver.find_element(By.ID, "language")).select_by_value("zh")
    title = driver.find_element(By.CSS_SELECTOR, "h1").text
    assert title == MESSAGES["serve.page.title"]["zh"]
    assert driver.find_element(By.ID, "clear").text == MESSAGES["serve.page.clear"]["zh"]
    assert driver.execute_script("return document.documentElement.lang") == "zh-Hans"
    Select(driver.find_element(By.ID, "language")).select_by_value("en")
    assert driver.find_element(By.CSS_SELECTOR, "h1").text == MESSAGES["serve.page.title"]["en"]


def test_no_request_leaves_the_machine(driver, server):
    url = open_page(driver, server)
    draw(driver, [[(0.5, 0.2), (0.5, 0.8)]])
    wait_for_answer(driver)
    resources = driver.execute_script(
        "return performance.getEntries().map(e => e.name).filter(n => /^[a-z]+:/.test(n));"
    )
    assert resources and all(name.startswith(url) for name in resources), resources
    requested = server.request_log.getvalue().splitlines()
    assert any('"POST /api/predict' in line for line in requested)
    assert all(line.startswith("127.0.0.1 ") for line in requested)
    assert console_errors(driver) == []
