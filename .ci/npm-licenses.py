#!/usr/bin/env python3
"""Lists the npm packages bookhook uses, with their licences, and fails on one not accepted.

npm audit has no offline database, so this is what `make audit` checks of npm: the packages of
end2end/ (the browser tests, wasm-opt for release builds, the Node.js snippet's library) from its
lockfile, and RapiDoc, which the site ships (public/reference/, fetched by .ci/tools)."""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The same permissive licences as deny.toml accepts for crates, plus the Unlicense (a
# public-domain dedication, fast-sha256 via standardwebhooks).
ACCEPTED = {"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "Unlicense", "CC0-1.0"}
# Accepted for test tools only, never shipped in the site: axe-core (the accessibility rules the
# browser tests run) is MPL-2.0, a file-level copyleft that binds only changes to its own files,
# and it is used unmodified.
TEST_ONLY = {"MPL-2.0"}

rows = []
lock = json.loads((ROOT / "end2end/package-lock.json").read_text())
for path, pkg in sorted(lock["packages"].items()):
    if not path:
        continue
    name = path.split("node_modules/")[-1]
    rows.append((name, pkg.get("version", "?"), pkg.get("license") or "?", "end2end (dev)"))

version = (ROOT / "public/reference/VERSION").read_text().split() if (ROOT / "public/reference/VERSION").exists() else None
if version:
    license_text = (ROOT / "public/reference/LICENSE.txt").read_text()
    rows.append((version[0], version[1], "MIT" if re.search(r"\bMIT License\b", license_text) else "?", "shipped in the site"))
else:
    sys.exit("public/reference/ is missing: run .ci/tools build (make run and make test do)")

width = max(len(r[0]) for r in rows)
print(f"{'package':<{width}}  {'version':<10} {'licence':<12} use")
refused = []
for name, ver, lic, use in rows:
    print(f"{name:<{width}}  {ver:<10} {lic:<12} {use}")
    if lic not in ACCEPTED and not (lic in TEST_ONLY and use.endswith("(dev)")):
        refused.append(f"{name} {ver}: {lic}")
if refused:
    sys.exit("npm packages under a licence not accepted:\n  " + "\n  ".join(refused))
print(f"{len(rows)} npm packages, every licence accepted")
