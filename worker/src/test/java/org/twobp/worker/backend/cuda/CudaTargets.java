package org.twobp.worker.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.backend.cuda.emu.EmulatorNative;

/**
 * The devices the CUDA tests run on: always the host emulator of the kernels (it must be built:
 * its absence fails the tests), and the machine's GPU when there is one (skipped otherwise).
 */
final class CudaTargets {

    private CudaTargets() {
    }


    /** Opens a device for a test: fails when the emulator is missing, skips the GPU target without a GPU. */
    static Device open(String target) {
        if (target.equals("emulated")) {
            if (!EmulatorNative.available()) {
                throw new AssertionError("the CUDA kernel emulator must be built for these tests (src/main/cuda/"
                        + "emulator/build.sh, run by Maven): " + EmulatorNative.unavailableReason());
            }
            return EmulatedDevice.open();
        }
        Assumptions.assumeTrue(Backends.gpuPresent(), "no GPU on this machine: the GPU run of this test is skipped");
        return JcudaDevice.open(0, 1);
    }

    static CudaBackend backend(String target, Precision precision) {
        return new CudaBackend(open(target), true, precision, true);
    }

}
