"""Functional test of the app's keys: written, read back, listed and deleted through the app,
kept in its Redis."""
import os
import urllib.error
import urllib.request

BASE = os.environ["CCCI_BASE_URL"]


def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_key_round_trips():
    assert call("PUT", "/cache/functional", b"hello from pytest")[0] == 200
    assert call("GET", "/cache/functional") == (200, "hello from pytest")
    status, listing = call("GET", "/cache")
    assert status == 200
    assert "functional=hello from pytest\n" in listing
    assert call("DELETE", "/cache/functional")[0] == 200
    assert call("GET", "/cache/functional")[0] == 404
