"""A real browser: register, log in, switch to Chinese, see the Chinese navigation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from certplatform import create_app
from certplatform.extensions import db
from tests import services
from tests.conftest import serving

pytestmark = pytest.mark.browser

CHROMIUM = services.CHROMIUM
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with app.app_context():
        db.create_all()
    with serving(app) as base:
        yield base


@pytest.fixture
def page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(locale="en-US")
        yield context.new_page()
        context.close()
        browser.close()


def test_register_login_and_switch_to_chinese(live_server: str, page, tmp_path: Path) -> None:
    page.goto(f"{live_server}/auth/register")
    page.fill("#email", "li.wei@example.com")
    page.fill("#name_latin", "Li Wei")
    page.fill("#name_zh", "李伟")
    page.fill("#password", "Triton-Kernels-2026")
    page.fill("#confirm", "Triton-Kernels-2026")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")
    assert "Welcome, Li Wei" in page.inner_text("main")

    page.click("text=Log out")
    page.wait_for_url(f"{live_server}/")
    page.click(".site-nav >> text=Log in")
    page.fill("#email", "LI.WEI@example.com")
    page.fill("#password", "Triton-Kernels-2026")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server}/dashboard")

    page.select_option("#locale-select", "zh_CN")  # the form submits itself on change
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    nav = page.inner_text(".site-nav")
    assert "控制台" in nav and "我的账号" in nav and "退出登录" in nav
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.reload()
    assert "欢迎，Li Wei" in page.inner_text("main"), "the choice is remembered"
    page.screenshot(path=str(tmp_path / "dashboard-zh.png"), full_page=True)
