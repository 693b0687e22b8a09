"""The vendored JavaScript is exactly what package-lock.json pins."""

from __future__ import annotations

import hashlib
import json
import os

import sacredboard

BOARD = os.path.dirname(sacredboard.__file__)
VENDOR = os.path.join(BOARD, "static", "vendor")


def test_vendored_files_match_the_lockfile_versions():
    with open(os.path.join(BOARD, "package-lock.json"), encoding="utf-8") as f:
        lock = json.load(f)["packages"]
    with open(os.path.join(BOARD, "package.json"), encoding="utf-8") as f:
        wanted = json.load(f)["dependencies"]
    with open(os.path.join(VENDOR, "VERSIONS.json"), encoding="utf-8") as f:
        vendored = json.load(f)
    assert sorted(vendored) == sorted(wanted)
    for package, entry in vendored.items():
        locked = lock[f"node_modules/{package}"]
        assert entry["version"] == locked["version"] == wanted[package]
        assert entry["integrity"] == locked["integrity"]
        for name, digest in entry["files"].items():
            with open(os.path.join(VENDOR, name), "rb") as f:
                assert hashlib.sha256(f.read()).hexdigest() == digest, name


def test_vendored_libraries_carry_their_version_banner():
    versions = json.load(open(os.path.join(VENDOR, "VERSIONS.json"), encoding="utf-8"))
    with open(os.path.join(VENDOR, "uPlot.esm.js"), encoding="utf-8") as f:
        assert f"(v{versions['uplot']['version']})" in f.read(400)
    with open(os.path.join(VENDOR, "highlight.core.min.js"), encoding="utf-8") as f:
        hl = versions["@highlightjs/cdn-assets"]["version"]
        assert f"Highlight.js v{hl}" in f.read(200)


def test_pages_load_nothing_from_other_hosts():
    static = os.path.join(BOARD, "static")
    for name in os.listdir(static):
        if name.endswith((".html", ".js", ".css")):
            with open(os.path.join(static, name), encoding="utf-8") as f:
                text = f.read()
            # The SVG namespace is a name, not a request.
            text = text.replace('"http://www.w3.org/2000/svg"', "")
            assert "://" not in text, name
