package org.twobp.worker.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.twobp.worker.backend.Backends;
import org.twobp.worker.train.TrainConfig;

/**
 * Pipeline training with every rank on the CUDA backend (its kernels on the host emulator; the
 * GPU itself is tested where there is one) leaves the weights of single-process CPU training:
 * activations and gradients cross ranks through the backend's transfer buffers, p2 runs
 * concatenated, the optimizer updates on the device. Tolerances as in {@link PipelineEqualityTest}
 * (the kernels sum in another order than the CPU loops, as the pipeline does already).
 */
class CudaPipelineEqualityTest {

    @ParameterizedTest(name = "P={0} {1} 2BP={2} {3}")
    @CsvSource({"2,1f1b-1,true,sgd", "2,gpipe,false,adamw", "4,zb-h1,true,adamw", "4,1f1b-2,true,sgd"})
    void cudaPipelineEqualsSingleProcessCpu(int ranks, String schedule, boolean twoBp, String optimizer) {
        check("cuda-emulated", ranks, schedule, twoBp, optimizer);
    }

    /** The same with every rank on the one GPU of the machine (ranks share it, as in a 4-rank test on one card). */
    @ParameterizedTest(name = "GPU P={0} {1} 2BP={2} {3}")
    @CsvSource({"2,1f1b-1,true,sgd", "4,zb-h1,true,adamw", "4,1f1b-2,true,sgd"})
    void ranksSharingOneGpuEqualSingleProcessCpu(int ranks, String schedule, boolean twoBp, String optimizer) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Backends.gpuPresent(), "no GPU on this machine");
        check("cuda", ranks, schedule, twoBp, optimizer);
    }

    private static void check(String backend, int ranks, String schedule, boolean twoBp, String optimizer) {
        PipelineConfig pipe = PipelineConfig.of(Map.of("schedule", schedule, "two_bp", twoBp));
        TrainConfig train = PipelineEqualityTest.train(optimizer);
        Map<String, float[]> weights = PipelineEqualityTest.runPipeline(PipelineEqualityTest.model(), train, pipe, ranks,
                PipelineEqualityTest.STEPS, () -> Backends.create(backend, "fp32", 1, 0, 1));
        Map<String, float[]> expected = SingleProcessReference.weightsAfter(PipelineEqualityTest.model(), train, pipe,
                ranks, PipelineEqualityTest.STEPS);
        double diff = SingleProcessReference.maxRelativeDifference(weights, expected);
        double tolerance = optimizer.equals("sgd") ? PipelineEqualityTest.SGD_TOLERANCE : PipelineEqualityTest.ADAMW_TOLERANCE;
        System.out.printf("%s pipeline P=%d %s 2BP=%s %s: max relative weight difference %.2e (tolerance %.0e)%n",
                backend, ranks, schedule, twoBp, optimizer, diff, tolerance);
        assertTrue(diff <= tolerance, "P=" + ranks + " " + schedule + " 2BP=" + twoBp + " " + optimizer
                + " on the CUDA backend: weights differ from single-process CPU training by " + diff + ", tolerance "
                + tolerance);
    }
}
