"""A real headless Chromium (Debian's `chromium` and `chromedriver`, given by path so Selenium
Manager never downloads one), driven from async tests.

The API under test runs in the test's own event loop, so every WebDriver call (which blocks
until the page has loaded from that API) runs in a thread, leaving the loop free to serve it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, NoSuchElementException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from core.settings import PROJECT_DIR
from tests.support.apistack import TOKENS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = PROJECT_DIR / "test-output" / "console"
DESKTOP = (1280, 900)
PHONE = (390, 844)
T = TypeVar("T")


def start_chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


class Browser:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def run(self, action: Callable[[], T]) -> T:
        return await asyncio.to_thread(action)

    async def go(self, path: str) -> None:
        await self.run(lambda: self.driver.get(self.base_url + path))

    async def sign_in(self, name: str) -> None:
        """A fresh session as `name`, through the sign-in form."""
        await self.run(self.driver.delete_all_cookies)
        await self.go("/console/sign-in")
        await self.fill("#token", TOKENS[name][1])
        await self.submit("#sign-in")

    @property
    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.driver.current_url)

    async def find(self, css: str) -> WebElement:
        return await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css))

    async def all(self, css: str) -> list[WebElement]:
        return await self.run(lambda: self.driver.find_elements(By.CSS_SELECTOR, css))

    async def exists(self, css: str) -> bool:
        return bool(await self.all(css))

    async def text(self, css: str = "body") -> str:
        element = await self.find(css)
        return await self.run(lambda: element.text)

    async def fill(self, css: str, value: str) -> None:
        element = await self.find(css)

        def typed() -> None:
            element.clear()
            element.send_keys(value)

        await self.run(typed)

    async def choose(self, css: str, value: str) -> None:
        """Pick an option of a select by value (or tick a radio/checkbox)."""
        await self.run(
            lambda: self.driver.execute_script(
                "var e = document.querySelector(arguments[0]); e.value = arguments[1];", css, value
            )
        )

    async def select(self, css: str, value: str) -> None:
        """Pick an option as a person does (the change event fires)."""
        element = await self.find(css)
        await self.run(lambda: Select(element).select_by_value(value))

    async def submit(self, form_css: str) -> None:
        """Submit with the form's own button, as a person does, and wait for the next page."""
        form = await self.find(form_css)

        def clicked() -> None:
            old = self.driver.find_element(By.TAG_NAME, "html")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            _wait(lambda: _stale(old))
            _wait(lambda: self.driver.execute_script("return document.readyState") == "complete")

        await self.run(clicked)

    async def open_action(self, action: str) -> str:
        """Unfold an action's form on the incident page; the form's CSS selector."""
        await self.run(
            lambda: self.driver.execute_script(
                "document.getElementById(arguments[0]).open = true;", f"action-{action}"
            )
        )
        return f"#action-{action} form"

    async def wait_for(self, css: str, contains: str, seconds: float = 30) -> str:
        """Wait for text to show in an element without reloading (live fragments)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            found = await self.all(css)
            shown = " ".join([await self.run(lambda e=e: e.text) for e in found])
            if contains in shown or asyncio.get_running_loop().time() > deadline:
                return shown
            await asyncio.sleep(0.5)

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not await self.run(condition):
            assert asyncio.get_running_loop().time() < deadline, "the page did not change"
            await asyncio.sleep(0.2)

    async def alert_shown(self) -> bool:
        def probe() -> bool:
            try:
                self.driver.switch_to.alert.dismiss()
            except NoAlertPresentException:
                return False
            return True

        return await self.run(probe)

    async def console_errors(self) -> list[str]:
        """Script errors the browser logged since the last call (a CSP violation is one); pages
        answered with an error status (a 403 a test asked for) are not."""
        entries = await self.run(lambda: self.driver.get_log("browser"))
        return [
            e["message"]
            for e in entries
            if e.get("level") == "SEVERE" and "Failed to load resource" not in e["message"]
        ]

    async def shot(self, name: str, size: tuple[int, int] = DESKTOP) -> Path:
        path = SCREENSHOTS / f"{name}.png"

        def taken() -> None:
            # The whole page, not just what fits in the window.
            self.driver.set_window_size(*size)
            height = self.driver.execute_script("return document.documentElement.scrollHeight;")
            self.driver.set_window_size(size[0], max(size[1], min(int(height) + 120, 6000)))
            self.driver.save_screenshot(str(path))
            self.driver.set_window_size(*DESKTOP)

        await self.run(taken)
        return path

    async def script(self, source: str, *args: Any) -> Any:
        return await self.run(lambda: self.driver.execute_script(source, *args))


def _stale(element: WebElement) -> bool:
    try:
        element.is_enabled()
    except Exception:
        return True
    return False


def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not change")
        time.sleep(0.05)


__all__ = ["Browser", "NoSuchElementException", "start_chromium"]
