#!/usr/bin/env bash
# Installs joulecast's build and test dependencies from Debian's packages (bookworm). Idempotent.
# libtorch-dev is not needed by the prediction path; the TorchScript reader (a plugin loaded only
# for .pt files) and the collector use it, and the tests check them when it is there; likewise
# libonnx-dev (with libprotobuf-dev, whose headers it includes) for the ONNX reader's plugin. clang and
# its runtime (libFuzzer, sanitizers) build the fuzz targets (tools/run_fuzz.sh).
# chromium renders the HTML report to a PNG in tests/cli/html_screenshot_test.cpp (zlib1g-dev
# decodes it there).
set -euo pipefail
pkgs="cmake ninja-build g++ libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libbenchmark-dev libtorch-dev libonnx-dev libprotobuf-dev clang libclang-rt-14-dev zlib1g-dev chromium"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | awk '$4 != "installed" {print $1}' || true)
# dpkg-query omits unknown packages entirely: count what it reported.
reported=$(dpkg-query -W -f='${Package}\n' $pkgs 2>/dev/null | wc -l || true)
if [ -n "$missing" ] || [ "$reported" -ne "$(echo $pkgs | wc -w)" ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $pkgs
fi
