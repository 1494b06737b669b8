"""The production recipe as an operator walks it: deploy/nginx.conf passes `nginx -t` on the
nginx Debian 12 ships (1.22), with the certificate certbot makes first, as the docs order."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import ROOT

CERTBOT_LIVE = "/etc/letsencrypt/live/bot.example.vn"


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs it")
        pytest.skip(message)
    return found


def test_the_nginx_site_passes_nginx_t_on_debians_nginx(tmp_path: Path) -> None:
    nginx = _nginx()
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=bot.example.vn", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert f"{CERTBOT_LIVE}/fullchain.pem" in site and f"{CERTBOT_LIVE}/privkey.pem" in site
    site = (
        site.replace(f"{CERTBOT_LIVE}/fullchain.pem", str(cert))
        .replace(f"{CERTBOT_LIVE}/privkey.pem", str(key))
        .replace("/etc/nginx/sangkien-proxy.conf", str(ROOT / "deploy" / "sangkien-proxy.conf"))
    )
    (tmp_path / "sangkien.conf").write_text(site, encoding="utf-8")
    temp = "".join(
        f"{kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n{temp}access_log off;\ninclude {tmp_path}/sangkien.conf;\n}}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", f"{tmp_path}/error.log",
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_the_docs_make_the_certificate_before_installing_the_site() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    certificate = guide.index("certbot certonly")
    assert certificate < guide.index("cp deploy/nginx.conf")
    assert "nginx -t" in guide[certificate:]
