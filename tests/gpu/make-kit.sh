#!/usr/bin/env bash
# Packs what a GPU machine without Java or Maven needs to run twobp's CUDA tests and benchmarks
# (run-on-device.sh): a jlink'ed Java runtime, the runtime jars, the worker's test classes and
# JUnit's console launcher. Run after 'make build' and the worker's test compile
# ('mvn -pl worker test-compile'); the kit goes to target/gpu-kit (or $1), kept under 64 MiB so
# that it can travel with the working tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/target/gpu-kit}
lib=$root/launcher/target/lib
tests=$root/worker/target/test-classes
[[ -d $lib && -d $tests ]] || { echo "make-kit: build first: make build && mvn -pl worker test-compile" >&2; exit 1; }
junit=${JUNIT_PLATFORM_VERSION:-1.11.4}

rm -rf "$out"
mkdir -p "$out/lib"
# the modules the worker and JUnit use; no desktop (charts are not drawn there)
jlink --add-modules java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported,jdk.management \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/jdk"
for j in "$lib"/*.jar; do
  case $(basename "$j") in pdfbox-*|fontbox-*|xchart-*|VectorGraphics2D-*|graphics2d-*) continue ;; esac
  cp "$j" "$out/lib/"
done
jar cf "$out/lib/twobp-worker-tests.jar" -C "$tests" .
mvn -B -ntp -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit:jar \
  -DoutputDirectory="$out" -Dmdep.stripVersion=true
echo "gpu kit: $out ($(du -sh "$out" | cut -f1))"
