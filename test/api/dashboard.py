#!/usr/bin/python3
"""test/api/dashboard.py URL TOKEN SCREENSHOT [--ack ALERT_ID] [--select PIPELINE]

Loads the metaetl dashboard in headless Chromium (Debian's) the way a person
would: opens URL with the token, waits until the page says it has loaded its
data, and reads what it shows.  --ack clicks "Acknowledge" on that alert and
waits for the page to show it acknowledged; --select clicks that pipeline's
row and waits for its charts.  Then it reads the page again and saves a
full-page PNG screenshot.  Prints what it saw as one JSON object on stdout
(the last reading; "alerts_before" holds the first reading's alerts).

Chromium is driven over its DevTools protocol with a minimal WebSocket client
written here (Python's standard library has none, and no browser-automation
package can be installed from PyPI on this machine)."""
import base64
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


class WebSocket:
    """Just enough RFC 6455 for DevTools: masked text frames out, any frames in."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("websocket handshake refused: %r" % head[:200])
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        hdr = bytearray([0x81])
        n = len(data)
        if n < 126:
            hdr.append(0x80 | n)
        elif n < 65536:
            hdr.append(0x80 | 126)
            hdr += struct.pack(">H", n)
        else:
            hdr.append(0x80 | 127)
            hdr += struct.pack(">Q", n)
        mask = os.urandom(4)
        hdr += mask
        self.sock.sendall(bytes(hdr) + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b1, b2 = self._read(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b1 & 0x0F
            if opcode == 8:
                raise RuntimeError("websocket closed by the browser")
            if opcode in (0, 1, 2):
                message += payload
                if b1 & 0x80:
                    return message.decode()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def wait_for(self, expr, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.eval(expr):
                return True
            time.sleep(0.1)
        return False


READ_PAGE = r"""JSON.stringify({
  health: document.getElementById('health').textContent,
  message: document.getElementById('message').hidden ? null : document.getElementById('message').textContent,
  pipelines: [...document.querySelectorAll('#pipelines tbody tr.pipeline')].map(tr => ({
    id: tr.dataset.pipeline, cells: [...tr.cells].map(td => td.textContent)})),
  detail: document.getElementById('detail-title').textContent,
  duration_bars: document.querySelectorAll('#duration-svg rect.bar').length,
  quality_points: document.querySelectorAll('#quality-svg circle.point').length,
  sla_rows: [...document.querySelectorAll('#sla-table tbody tr')].map(tr => [...tr.cells].map(td => td.textContent)),
  sla_summary: (document.getElementById('sla-summary') || {}).textContent || null,
  lineage: document.getElementById('lineage-svg') ? 'graph' : document.getElementById('lineage').textContent,
  lineage_nodes: document.querySelectorAll('#lineage-svg g.node').length,
  alerts: [...document.querySelectorAll('#alerts tbody tr[data-alert]')].map(tr => ({
    id: Number(tr.dataset.alert), status: tr.querySelector('.alert-status').textContent,
    button: !!tr.querySelector('button.ack')}))
})"""


def main():
    url, token, shot = sys.argv[1], sys.argv[2], sys.argv[3]
    alert = select = None
    rest = sys.argv[4:]
    while rest:
        opt, val, rest = rest[0], rest[1], rest[2:]
        if opt == "--ack":
            alert = int(val)
        elif opt == "--select":
            select = val
        else:
            raise SystemExit("unknown option " + opt)
    profile = tempfile.mkdtemp(prefix="metaetl-chromium-")
    # the flags keep Chromium off the network (this machine has none) and quiet
    proc = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--remote-debugging-port=0", "--user-data-dir=" + profile,
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port = int(open(port_file).read().split("\n")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("PUT", "/json/new?about:blank")
        target = json.loads(conn.getresponse().read())
        path = target["webSocketDebuggerUrl"].split(str(port), 1)[1]
        page = Page(WebSocket("127.0.0.1", port, path))
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=url + "#token=" + token)
        if not page.wait_for("document.body && document.body.dataset.loaded === 'true'"):
            raise RuntimeError("the dashboard did not load its data: %s" % page.eval(READ_PAGE))
        first = json.loads(page.eval(READ_PAGE))
        done = {}
        if alert is not None:
            done["clicked"] = page.eval("(() => { const b = document.querySelector('tr[data-alert=\"%d\"] button.ack');"
                                        " if (!b) return false; b.click(); return true; })()" % alert)
            done["acknowledged_shown"] = page.wait_for(
                "(() => { const tr = document.querySelector('tr[data-alert=\"%d\"]');"
                " return tr && tr.querySelector('.alert-status').textContent === 'acknowledged'"
                " && !tr.querySelector('button.ack'); })()" % alert)
        if select is not None:
            done["selected"] = page.eval("(() => { const tr = document.querySelector('tr[data-pipeline=\"%s\"]');"
                                         " if (!tr) return false; tr.click(); return true; })()" % select)
            done["detail_shown"] = page.wait_for(
                "document.getElementById('detail-title').textContent === 'Pipeline %s'"
                " && !!document.getElementById('duration-chart').firstChild"
                " && document.querySelector('tr.selected') && document.querySelector('tr.selected').dataset.pipeline === '%s'"
                % (select, select))
            time.sleep(0.3)     # the detail's other cards are filled in the same refresh
        seen = json.loads(page.eval(READ_PAGE)) if done else first
        seen.update(done)
        seen["alerts_before"] = first["alerts"]
        seen["page_height"] = page.eval("document.documentElement.scrollHeight")
        try:
            png = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        except RuntimeError as e:
            # Chromium refuses full-page captures beyond 16384 px: take the top
            if "too large" not in str(e):
                raise
            png = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": 12000, "scale": 1})
            seen["screenshot_clipped"] = True
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png["data"]))
        seen["screenshot"] = shot
        seen["screenshot_bytes"] = os.path.getsize(shot)
        print(json.dumps(seen))
        try:
            page.call("Browser.close")
        except Exception:
            pass
    finally:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
