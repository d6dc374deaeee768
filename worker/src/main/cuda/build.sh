#!/usr/bin/env bash
# Builds the CUDA kernels of the worker into its class folder (called by Maven, phase
# generate-resources, with that folder as $1):
#   - PTX for the GPU, one file per .cu and target, when nvcc is found
#     (org/twobp/worker/backend/cuda/ptx/<family>.sm<NN>.ptx; the driver compiles PTX for the
#     device at load, so one target also runs on newer GPUs);
#   - the host emulator library, which runs the same kernels on the CPU for tests
#     (emulator/build.sh).
# Without nvcc no PTX is built and the CUDA backend says so when chosen; the CPU path is unaffected.
# Environment: NVCC (compiler; "none" builds without GPU kernels), CUDA_ARCHS (default "70 75 80 90"; nvcc 13 dropped Volta, so 70 is
# skipped with a note when the compiler refuses it).
set -euo pipefail
shopt -s nullglob
out=${1:?usage: build.sh CLASS_FOLDER}
here=$(cd "$(dirname "$0")" && pwd)
ptxdir=$out/org/twobp/worker/backend/cuda/ptx
mkdir -p "$ptxdir"

nvcc=${NVCC:-$(command -v nvcc || true)}
if [[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]]; then nvcc=/usr/local/cuda/bin/nvcc; fi
if [[ $nvcc == none ]]; then nvcc=; fi
rm -f "$ptxdir/UNAVAILABLE" "$ptxdir/INDEX"
if [[ -z $nvcc ]]; then
  echo "nvcc was not found when this build ran (not on PATH, no /usr/local/cuda/bin/nvcc, NVCC ${NVCC:-unset}):" \
       "the CUDA kernels were not compiled. Install the CUDA toolkit and rebuild." > "$ptxdir/UNAVAILABLE"
  echo "[cuda] no nvcc: PTX not built; the CUDA backend will report itself unavailable"
else
  built=()
  for arch in ${CUDA_ARCHS:-70 75 80 90}; do
    ok=1
    for cu in "$here"/*.cu; do
      name=$(basename "$cu" .cu)
      ptx=$ptxdir/$name.sm$arch.ptx
      if [[ -f $ptx && $ptx -nt $cu && $ptx -nt $here/common.cuh ]]; then continue; fi
      if ! err=$("$nvcc" -ptx -std=c++17 -O3 -arch=compute_$arch -I"$here" -o "$ptx.tmp" "$cu" 2>&1); then
        if grep -q "Unsupported gpu architecture" <<<"$err"; then
          echo "[cuda] $nvcc does not target compute_$arch (nvcc 13 dropped Volta; build with nvcc 12 for it)"
          rm -f "$ptx.tmp"; ok=0; break
        fi
        echo "$err" >&2; exit 1
      fi
      mv "$ptx.tmp" "$ptx"
    done
    if (( ok )); then built+=("sm$arch"); fi
  done
  (cd "$ptxdir" && ls *.ptx > INDEX)
  echo "[cuda] PTX from $("$nvcc" --version | tail -1) for ${built[*]}"
fi

if [[ -f $here/emulator/build.sh ]]; then
  bash "$here/emulator/build.sh" "$out"
fi
