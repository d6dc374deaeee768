# twobp: the only entry points a user needs.
#   make run     the main job: a local multi-rank training run on the CPU
#   make test    unit and integration tests (MPI runs under real mpirun)
# Both install what is missing first (see setup/setup.sh).

SHELL := /bin/bash
MVN   ?= mvn
NP    ?= 2

# The Open MPI version decides which mpi.jar artifact the build uses; asked after setup ran.
OMPI_VERSION = $(shell setup/setup.sh --version 2>/dev/null)
MVN_FLAGS    = -B -ntp -Dstyle.color=never $(if $(OMPI_VERSION),-Dopenmpi.version=$(OMPI_VERSION)) $(if $(MAVEN_REPO),-Dmaven.repo.local=$(MAVEN_REPO))

# mpirun refuses root unless told; CI and containers run as root.
MPIRUN_ENV  := $(if $(filter 0,$(shell id -u)),OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,)
MPIRUN      := $(MPIRUN_ENV) mpirun --oversubscribe -x OPENBLAS_NUM_THREADS=1
LIB         := launcher/target/lib
JAVA_RANK   := java -Xss4m -cp "$(LIB)/*"

.PHONY: all setup setup-tests build test run selftest bench-transport bench-engine bench-pipeline bench-gpu gpu-kit train-tiny reference-fixtures simulate slurm-up slurm-down clean help

all: build

help:
	@echo "make run              the default job: llama-small on $(NP) CPU ranks, 1F1B-1 + 2BP (ARGS=... for options)"
	@echo "make test             all tests (unit, then integration under mpirun)"
	@echo "make build            set up and build, no tests"
	@echo "make selftest NP=4    transport self-test: latency and bandwidth between ranks"
	@echo "make train-tiny       train llama-tiny on 3-digit addition in one process (~15 s)"
	@echo "make bench-engine     SGEMM at llama-small's shapes, the step's GFLOP/s and GEMM share"
	@echo "make bench-pipeline   measured 2BP speed-up of every schedule vs its replay from the same run (~3 min on 2 idle cores, <= 14 busy)"
	@echo "make bench-gpu        one GPU: CUDA backend step and GEMMs vs eager PyTorch (llama-small, llama-1b)"
	@echo "make gpu-kit          pack a Java runtime, jars and tests for a GPU machine without Java (target/gpu-kit)"
	@echo "make simulate ARGS=.. the schedule simulator, e.g. ARGS=\"--compare --stages 4\""
	@echo "make setup            install what is missing (root) or say what is missing"
	@echo "make slurm-up         start a local single-node Slurm cluster (root); make slurm-down stops it"
	@echo "make clean            remove build outputs (runs/ is kept)"

setup:
	@setup/setup.sh

build: setup
	$(MVN) $(MVN_FLAGS) -q -DskipTests install

# the tests also need a local Slurm (munge, slurmctld, slurmd) for the end-to-end tests.
# Set-up runs as a prerequisite: make expands a recipe (and OMPI_VERSION) before running it.
test: setup-tests
	$(MVN) $(MVN_FLAGS) install

setup-tests:
	@setup/setup.sh --for-tests

selftest bench-transport: build
	bin/twobp env --selftest --nproc $(NP)

# the default job: llama-small on $(NP) CPU ranks, 1F1B-1 with 2BP (configs/llama-small.toml); ARGS adds options,
# e.g. ARGS="--set pipeline.schedule=gpipe --no-2bp --steps 10"
run: build
	$(MPIRUN) -np $(NP) $(JAVA_RANK) org.twobp.worker.pipeline.WorkerMain --config configs/llama-small.toml $(ARGS)

bench-engine: build
	OPENBLAS_NUM_THREADS= $(JAVA_RANK) org.twobp.worker.train.BenchEngine --config configs/llama-small.toml

# 2 ranks, one core each (BLAS single-threaded): every schedule with and without 2BP, interleaved,
# next to the simulator's replay of each arm with the action times and link measured in the same
# run; the table, and each arm's measured and replayed median step, also in runs/.
# ARGS="--rounds N" times N steps per arm (default 5), ARGS="--schedules zb-v,1f1b-2" a subset.
bench-pipeline: build
	$(MPIRUN) -np 2 $(JAVA_RANK) org.twobp.worker.pipeline.BenchPipeline --config configs/llama-small.toml $(ARGS)

# One GPU: the CUDA backend's training step and GEMMs for llama-small and llama-1b, then eager
# PyTorch on the same shapes in the same run (needs a GPU, the CUDA driver and python3-torch).
PRECISION ?= bf16
bench-gpu: build
	for c in llama-small llama-1b; do \
	  $(JAVA_RANK) org.twobp.worker.train.BenchEngine --config configs/$$c.toml --backend cuda --precision $(PRECISION) --steps 5 --warmup 2 || exit 1; \
	  python3 tests/reference/bench_torch.py --config configs/$$c.toml --precision $(PRECISION) --steps 5 --warmup 2 || exit 1; \
	done

# What a GPU machine without Java needs to run the CUDA tests and bench-gpu there
# (tests/gpu/run-on-device.sh): a jlink'ed runtime, the jars and the worker's test classes.
gpu-kit: build
	$(MVN) $(MVN_FLAGS) -q -pl worker test-compile
	bash tests/gpu/make-kit.sh

train-tiny: build
	$(JAVA_RANK) org.twobp.worker.train.TrainMain --config configs/llama-tiny.toml --data synthetic:addition

# needs Debian's python3-torch and python3-h5py; CI uses the committed files
reference-fixtures:
	/usr/bin/python3 tests/reference/make_fixtures.py

# e.g. make simulate ARGS="--compare --stages 4"   or   ARGS="--schedule 1f1b-1 --2bp --stages 4 --png runs/fig1.png"
simulate: build
	bin/twobp simulate $(ARGS)

slurm-up: setup-tests
	@slurm/local-cluster.sh start

slurm-down:
	@slurm/local-cluster.sh stop

clean:
	$(MVN) -B -ntp -q clean
