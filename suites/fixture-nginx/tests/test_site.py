"""Functional test of the static site: the server configuration swarm rendered from its
golang template carries the app's version and the service's name."""
import os
import urllib.request

BASE = os.environ["CCCI_BASE_URL"]
STACK = os.environ["CCCI_STACK"]


def get(path):
    with urllib.request.urlopen(BASE + path, timeout=10) as resp:
        return resp.status, resp.headers, resp.read().decode()


def test_the_rendered_config_names_version_and_service():
    status, headers, body = get("/version")
    assert status == 200
    version = body.strip()
    assert version and "{{" not in version
    assert headers["X-Site-Version"] == version
    assert headers["X-Served-By"] == f"{STACK}_app"


def test_the_landing_page_is_html():
    status, headers, body = get("/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "<html" in body.lower()
