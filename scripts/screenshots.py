"""Screenshots of the workbench's main pages for the README, from a fresh demo.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--orders 1500]

Seeds the demo (``lvyue demo``) into a temporary SQLite database, adds the demo users, serves
the app with uvicorn on 127.0.0.1 and has headless Chromium (Debian's ``chromium``, driven by
Playwright) take 1366×768 PNGs of the login page, the order list, the held tab, an order's
detail and the other main pages (``PAGES``). Chinese text needs a CJK font (Debian:
``apt-get install fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from playwright.sync_api import Page, sync_playwright

from lvyue.core.clock import SHANGHAI
from lvyue.core.db import engine_for
from lvyue.demo import demo_command, seed_demo_users
from lvyue.main import create_app
from lvyue.orders.queries import ORDER

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1366, "height": 768}
# (file name, path) of the other main pages, as the demo admin sees them.
PAGES = (
    ("held", "/held"),
    ("rules", "/rules"),
    ("stock", "/stock"),
    ("dashboard", "/dashboard?day={demo_day}"),
    ("settings-shops", "/settings/shops"),
    ("settings-users", "/settings/users"),
)


def serve(url: str) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(url), log_level="warning"))
    threading.Thread(target=server.run, args=([sock],), daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def showcase_order(url: str) -> int:
    """An allocated order with a buyer message and several lines: the detail shows the most."""
    with engine_for(url).connect() as conn:
        row = conn.execute(
            sa.select(ORDER.c.id)
            .where(ORDER.c.status == "allocated", ORDER.c.buyer_message != "")
            .order_by(ORDER.c.item_count.desc(), ORDER.c.id)
            .limit(1)
        ).first()
        if row is None:
            row = conn.execute(sa.select(ORDER.c.id).order_by(ORDER.c.id).limit(1)).first()
    assert row is not None
    return int(row.id)


def demo_day(url: str) -> str:
    """The merchant-local day of the newest demo order: the dashboard shows a day with orders
    (the demo's orders are dated on Double 11, not today)."""
    with engine_for(url).connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(ORDER.c.ordered_at))).scalar_one()
    return str(newest.astimezone(SHANGHAI).date())


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(300)  # let fonts settle
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"  {out / f'{name}.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    if shutil.which(args.chromium) is None:
        print(f"no Chromium at {args.chromium}: apt-get install chromium", file=sys.stderr)
        return 2
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    if not fonts.strip():
        print("warning: no Chinese font found (apt-get install fonts-noto-cjk)", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        demo_command(orders_n=args.orders, seed=11, db=url)
        users = {name: password for name, password, _ in seed_demo_users(url)}
        order_id = showcase_order(url)
        server, base = serve(url)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, headless=True)
                context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
                page = context.new_page()
                page.goto(f"{base}/login")
                shoot(page, args.out, "login")
                page.fill("#username", "admin")
                page.fill("#password", users["admin"])
                page.click("form[data-testid=login-form] button[type=submit]")
                page.wait_for_url("**/orders")
                shoot(page, args.out, "orders")
                page.click("[data-tab=held]")
                page.wait_for_selector(".tab.active[data-tab=held]")
                shoot(page, args.out, "orders-held")
                page.goto(f"{base}/orders/{order_id}")
                shoot(page, args.out, "order-detail")
                for name, path in PAGES:
                    response = page.goto(base + path.format(demo_day=demo_day(url)))
                    if response is None or response.status != 200:
                        print(f"  {path}: HTTP {response and response.status}", file=sys.stderr)
                        return 1
                    page.wait_for_timeout(800)  # charts animate in; the event stream never idles
                    shoot(page, args.out, name)
                browser.close()
        finally:
            server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
