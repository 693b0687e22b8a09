#!/usr/bin/env python3
"""Copy the front end's JavaScript libraries from npm into sacredboard/static/vendor.

    cd sacredboard && npm ci && python scripts/vendor_js.py

The versions are those of package-lock.json; the copied files are committed, so
installing or testing sacredboard needs neither npm nor a build step, and the page
loads nothing from a CDN. ``static/vendor/VERSIONS.json`` records what was copied
(a test checks it against the lockfile).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # sacredboard/
VENDOR = os.path.join(HERE, "static", "vendor")

#: package -> [(file inside the package, name in static/vendor)]
FILES = {
    "uplot": [
        ("dist/uPlot.esm.js", "uPlot.esm.js"),
        ("dist/uPlot.min.css", "uPlot.min.css"),
        ("LICENSE", "uPlot.LICENSE"),
    ],
    "@highlightjs/cdn-assets": [
        ("es/core.min.js", "highlight.core.min.js"),
        ("es/languages/python.min.js", "highlight.python.min.js"),
        ("styles/github.min.css", "highlight.github.min.css"),
        ("LICENSE", "highlight.LICENSE"),
    ],
}


def main() -> int:
    with open(os.path.join(HERE, "package-lock.json"), encoding="utf-8") as f:
        lock = json.load(f)
    os.makedirs(VENDOR, exist_ok=True)
    versions = {}
    for package, files in FILES.items():
        entry = lock["packages"].get(f"node_modules/{package}")
        if entry is None:
            print(f"vendor_js: {package} is not in package-lock.json; add it to package.json")
            return 1
        root = os.path.join(HERE, "node_modules", package)
        with open(os.path.join(root, "package.json"), encoding="utf-8") as f:
            installed = json.load(f)["version"]
        if installed != entry["version"]:
            print(
                f"vendor_js: node_modules has {package} {installed}, the lockfile "
                f"{entry['version']}; run `npm ci` in {HERE} first"
            )
            return 1
        copied = {}
        for source, target in files:
            shutil.copyfile(os.path.join(root, source), os.path.join(VENDOR, target))
            with open(os.path.join(VENDOR, target), "rb") as f:
                copied[target] = hashlib.sha256(f.read()).hexdigest()
        versions[package] = {
            "version": entry["version"],
            "integrity": entry["integrity"],
            "files": copied,
        }
        print(f"vendor_js: {package} {entry['version']} -> {', '.join(copied)}")
    with open(os.path.join(VENDOR, "VERSIONS.json"), "w", encoding="utf-8") as f:
        json.dump(versions, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
