"""Headless Chromium driven over the DevTools protocol: open a page, wait for text, screenshot.

Chromium comes from Debian's `chromium` package (the test set-up installs it); nothing is
downloaded at run time.
"""

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets

from segmentation_pipeline_tests.deployment import free_port, wait_until

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1920,1080",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium process and one page, driven through CDP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="segmentation-chromium-")
        self.process = subprocess.Popen(
            [
                chromium_path() or "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={self.port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._ids = itertools.count(1)
        targets = wait_until(self._page_targets, 30, "Chromium's DevTools endpoint", every=0.3)
        self.ws_url = targets[0]["webSocketDebuggerUrl"]

    def _page_targets(self) -> list[dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json", timeout=2) as r:
                return [target for target in json.loads(r.read()) if target["type"] == "page"]
        except OSError:
            return []

    async def _send(self, method: str, **params: Any) -> dict[str, Any]:
        async with websockets.connect(self.ws_url, max_size=64 * 1024 * 1024) as ws:
            message_id = next(self._ids)
            await ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("id") == message_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return asyncio.run(self._send(method, **params))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_for_text(self, texts: list[str], timeout: float = 60) -> str:
        def rendered() -> str | None:
            body = self.evaluate("document.body ? document.body.innerText : ''") or ""
            return body if all(text in body for text in texts) else None

        return wait_until(rendered, timeout, f"the page to show {texts}", every=0.5)

    def click_text(self, text: str) -> bool:
        """Click the first button or link whose text is exactly `text`, if there is one."""
        return bool(
            self.evaluate(
                "(() => { const el = [...document.querySelectorAll('button, a')]"
                f".find(e => e.innerText.trim() === {json.dumps(text)});"
                " if (el) { el.click(); return true; } return false; })()"
            )
        )

    def screenshot(self, path: Path) -> None:
        time.sleep(1)  # let the last layout settle
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
