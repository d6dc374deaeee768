#!/usr/bin/env bash
# On a GPU machine, from the repository root, with the kit of make-kit.sh at target/gpu-kit:
#   1. the CUDA tests (every kernel against its CPU twin, the whole model, pipelines of 2 and 4
#      thread ranks sharing the GPU) on the GPU, and on the host emulator as in CI;
#   2. the benchmark: the CUDA backend's training step and GEMMs for llama-small and llama-1b,
#      then eager PyTorch on the same shapes in the same run (needs python3 with torch).
# Output goes to stdout and, when OUT is set, to $OUT/gpu-tests.txt and $OUT/gpu-bench.txt.
set -uo pipefail
kit=${KIT:-target/gpu-kit}
export JAVA_HOME=$kit/jdk PATH=$kit/jdk/bin:$PATH
out=${OUT:-/tmp}
precision=${PRECISION:-bf16}
nvidia-smi -L || echo "no nvidia-smi"

# the console launcher does not expand 'lib/*': name every jar
cp=$(ls "$PWD/$kit"/lib/*.jar | paste -sd:)
(cd worker && java -Xss4m -jar "../$kit/junit-platform-console-standalone.jar" execute -cp "$cp" \
  --select-class org.twobp.worker.backend.cuda.JcudaDeviceTest \
  --select-class org.twobp.worker.backend.cuda.KernelParityTest \
  --select-class org.twobp.worker.backend.cuda.ConvParityTest \
  --select-class org.twobp.worker.backend.cuda.ModelParityTest \
  --select-class org.twobp.worker.pipeline.CudaPipelineEqualityTest \
  --details=tree --disable-banner --details-theme=ascii) 2>&1 | tee "$out/gpu-tests.txt"

for c in llama-small llama-1b; do
  java -Xss4m -cp "$kit/lib/*" org.twobp.worker.train.BenchEngine --config configs/$c.toml --backend cuda \
    --precision "$precision" --steps 5 --warmup 2
  PYTHONUNBUFFERED=1 python3 tests/reference/bench_torch.py --config configs/$c.toml --precision "$precision" \
    --steps 5 --warmup 2
done 2>&1 | tee "$out/gpu-bench.txt"
