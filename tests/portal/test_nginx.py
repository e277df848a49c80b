"""The portal behind nginx with TLS, configured by deploy/nginx-portal.conf itself (ports and
certificate paths substituted): https works, http redirects, the session cookie is Secure because
uvicorn believes the proxy's X-Forwarded-Proto, and a login goes through.

`make test` installs Debian's nginx-light; the certificate is a throw-away self-signed one.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from pipeline.settings import PROJECT_ROOT
from portal.app import create_app
from tests.portal.conftest import PASSWORD, Portal, csrf_of

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, what: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.05)


@pytest.fixture
def behind_nginx(portal: Portal, tmp_path: Path) -> Iterator[tuple[str, str]]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    assert nginx, "nginx is missing: `make test` installs Debian's nginx-light"
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(portal.settings),
            host="127.0.0.1",
            port=app_port,
            proxy_headers=True,
            forwarded_allow_ips=portal.settings.trusted_proxies,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(app_port, "the portal")

    key, crt = tmp_path / "portal.key", tmp_path / "portal.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (PROJECT_ROOT / "deploy" / "nginx-portal.conf").read_text(encoding="utf-8")
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = site.replace("/etc/nginx/tls/portal.crt", str(crt)).replace("/etc/nginx/tls/portal.key", str(key))
    assert site.count(str(app_port)) == 1 and str(https_port) in site, "the example's ports moved"
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""
daemon off;
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp_path}/site.conf;
}}
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    try:
        wait_for(https_port, "nginx")
        yield f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.should_exit = True
        thread.join(timeout=10)


def test_the_portal_behind_nginx_with_tls(behind_nginx: tuple[str, str]) -> None:
    https, http = behind_nginx
    redirect = httpx.get(f"{http}/login", follow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["location"].startswith("https://")
    with httpx.Client(base_url=https, verify=False) as c:  # a throw-away self-signed certificate
        page = c.get("/login")
        assert page.status_code == 200 and "登录" in page.text
        cookie = page.headers["set-cookie"].lower()
        assert "; secure" in cookie and "httponly" in cookie
        assert "max-age=31536000" in page.headers["strict-transport-security"]
        r = c.post("/login", data={"username": "wude", "password": PASSWORD, "csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/"
        town = c.get("/t/410825105")
        assert town.status_code == 200 and re.search(r"武德镇\s*预警名单", town.text)
