#!/usr/bin/env bash
# Refreshes the UI screenshots in docs/ui/: ./scripts/screenshots.sh
#
# Starts a fresh Arca, fills it with demo models through the real mlflow client, and saves
# <page>-desktop.png (1280 px wide) and <page>-narrow.png (390 px) of each page listed in
# crates/arca/tests/browser/screenshots.rs (PAGES). It is that browser test, run with
# ARCA_SCREENSHOTS_DIR set; it needs what ./scripts/test.sh installs: the .venv with mlflow and
# scikit-learn, Chromium, chromium-driver and axe-core in .test-env/axe.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mkdir -p docs/ui
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
ARCA_SCREENSHOTS_DIR="$ROOT/docs/ui" ARCA_REQUIRE_BROWSER=1 ARCA_REQUIRE_MLFLOW=1 \
    cargo test -p arca --test browser -- --ignored --exact \
    screenshots::the_main_pages_fit_a_phone_and_are_captured_for_the_docs
ls -l docs/ui/*.png
