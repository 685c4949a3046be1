"""Functional test of the fixture app's data API, run by pytest against the live app."""
import os
import urllib.request

BASE = os.environ["CCCI_BASE_URL"]
HOST = os.environ["CCCI_DOMAIN"]


def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers={"Host": HOST})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_write_then_read_back():
    status, _ = call("PUT", "/data/functional-check", b"hello from pytest")
    assert status == 200
    status, body = call("GET", "/data/functional-check")
    assert (status, body) == (200, "hello from pytest")


def test_version_is_served():
    status, body = call("GET", "/version")
    assert status == 200
    assert body.strip()
