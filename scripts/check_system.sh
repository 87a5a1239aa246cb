#!/usr/bin/env bash
# Machine prerequisites of the local stack and the tests: Java 17 and the Firestore emulator jar (for the
# emulator tier and `make run`), Chromium and its driver (for the browser tier), zsh (tests/unit/test_deploy_guide.py
# checks the operator guide's commands under zsh, macOS's shell). Installs Chromium and zsh only when missing;
# everything else is part of the machine image and only checked. A deploy needs none of this (`make bundle`).
set -euo pipefail

fail() { echo "check_system: $*" >&2; exit 1; }

command -v java >/dev/null 2>&1 || fail "java is not on PATH: the Firestore emulator needs Java 17 (apt-get install openjdk-17-jre-headless)"

FS_JAR=${FIRESTORE_EMULATOR_JAR:-$(dpkg -L google-cloud-cli-firestore-emulator 2>/dev/null | grep "cloud-firestore-emulator.jar$" || true)}
[ -n "$FS_JAR" ] && [ -f "$FS_JAR" ] || fail "Firestore emulator jar missing (package google-cloud-cli-firestore-emulator is not installed; expected emulator 1.19.9 from gcloud 528)"

if [ ! -x /usr/bin/chromium ]; then
    echo "check_system: installing chromium and chromium-driver (browser tests)"
    [ "$(id -u)" = 0 ] || fail "chromium is missing and installing it needs root: apt-get install -y chromium chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! command -v zsh >/dev/null 2>&1; then
    echo "check_system: installing zsh (the deploy guide's commands are checked under zsh)"
    [ "$(id -u)" = 0 ] || fail "zsh is missing and installing it needs root: apt-get install -y zsh"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh >/dev/null
fi
