"""A headless Chromium driven by Selenium, logged in to the stack's Airflow UI.

Debian's `chromium` and `chromium-driver` (.ci/run installs them): Selenium Manager cannot
download a browser or a driver here, so both are named by path.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

BROWSER_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1400,1800",
)


def _required(*names: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    raise RuntimeError(
        f"none of {', '.join(names)} is installed: apt-get install chromium chromium-driver "
        "(.ci/run does)"
    )


@contextmanager
def airflow_browser(base_url: str, username: str, password: str) -> Iterator[WebDriver]:
    """A browser that has signed in at `base_url` (the UI keeps the token in its `_token`
    cookie, which the Lakehouse page's requests carry)."""
    options = webdriver.ChromeOptions()
    options.binary_location = _required("chromium", "chromium-browser")
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(_required("chromedriver")), options=options)
    try:
        driver.get(f"{base_url}/auth/login?next=%2F")
        wait = WebDriverWait(driver, 60)
        wait.until(expected_conditions.presence_of_element_located((By.NAME, "username")))
        driver.find_element(By.NAME, "username").send_keys(username)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: d.get_cookie("_token") is not None)
        yield driver
    finally:
        driver.quit()
