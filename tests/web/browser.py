"""Browser-test support: headless Chromium (Debian's ``chromium``) driven by Playwright against
the app served by uvicorn on 127.0.0.1, on the test database.

A browser test module imports ``pytestmark`` and ``sign_in`` from here and asks for the
``page`` fixture (``tests/web/conftest.py``: one browser for the session, one server per module,
a fresh browser context per test, signed out, 1366×768, zh-CN). Skipped when Chromium is missing
outside CI; ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.web.conftest import PASSWORD

CHROMIUM = os.environ.get("LVYUE_CHROMIUM", "/usr/bin/chromium")
# Under CI a missing browser is a failure (.ci/run installs it), elsewhere a skip.
MISSING = shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(MISSING, reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
CJK = re.compile(r"[\u3400-\u9fff]")


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{page.base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[data-testid=login-form] button[type=submit]")
