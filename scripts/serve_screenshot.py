"""Take the screenshot in docs/serve.md: the demo page after drawing a 7.

Starts the server with the bundled model on a free port, opens the page in headless
Debian Chromium (Selenium, /usr/bin/chromedriver), draws a 7 with pointer actions, waits
for the answer and saves a PNG of the whole page.

Usage::

    python scripts/serve_screenshot.py docs/serve.png [--lang zh] [--width 1280]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
from importlib import resources

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from scratchcnn.persistence import load
from scratchcnn.server import make_server

SEVEN = [(0.27, 0.2), (0.73, 0.2), (0.45, 0.84)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()

    with resources.as_file(resources.files("scratchcnn") / "models/demo.npz") as path:
        model = load(path)
    server = make_server(model, "127.0.0.1", 0, source="demo", language=args.lang)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={args.width},1000",
        f"--user-data-dir={tempfile.mkdtemp()}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(server.url)
        body = driver.find_element(By.TAG_NAME, "body")
        WebDriverWait(driver, 20).until(lambda d: body.get_attribute("data-ready") == "true")
        pad = driver.find_element(By.ID, "pad")
        width, height = pad.size["width"], pad.size["height"]
        actions = ActionChains(driver)
        x, y = SEVEN[0]
        actions.move_to_element_with_offset(pad, int((x - 0.5) * width), int((y - 0.5) * height))
        actions.click_and_hold()
        for (x0, y0), (x1, y1) in itertools.pairwise(SEVEN):
            for step in range(1, 11):
                f = step / 10
                px, py = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
                actions.move_to_element_with_offset(
                    pad, int((px - 0.5) * width), int((py - 0.5) * height)
                )
        actions.release().perform()
        WebDriverWait(driver, 30).until(
            lambda d: (
                body.get_attribute("data-state") == "idle"
                and d.find_element(By.ID, "prediction").text
            )
        )
        page_height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": args.width, "height": page_height, "deviceScaleFactor": 1, "mobile": False},
        )
        WebDriverWait(driver, 5).until(lambda d: body.get_attribute("data-state") == "idle")
        driver.save_screenshot(args.out)
        print(f"{args.out}: prediction {driver.find_element(By.ID, 'prediction').text}")
    finally:
        driver.quit()
        server.shutdown()


if __name__ == "__main__":
    main()
