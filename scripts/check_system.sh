#!/usr/bin/env bash
# Machine prerequisites of the local stack and the tests: Java 17 and the Firestore emulator jar (for the
# emulator tier and `make run`), Chromium and its driver (for the browser tier). Installs Chromium only when
# it is missing; everything else is part of the machine image and only checked.
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
