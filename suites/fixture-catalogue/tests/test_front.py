"""Functional test of the front: nginx, configured by the swarm config rendered from its
golang template, passes requests to the app, which keeps rows in PostgreSQL."""
import os
import urllib.error
import urllib.request

BASE = os.environ["CCCI_BASE_URL"]


def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def test_nginx_serves_the_app_with_its_rendered_config():
    status, headers, body = call("GET", "/health")
    assert status == 200
    conf = headers["X-Nginx-Conf"]
    assert conf and "{{" not in conf and conf.startswith("v")


def test_a_row_round_trips_through_nginx():
    assert call("PUT", "/rows/functional", b"through the front")[0] == 200
    assert call("GET", "/rows/functional")[1:][1] == "through the front"
    assert call("DELETE", "/rows/functional")[0] == 200
    assert call("GET", "/rows/functional")[0] == 404
