package org.twobp.worker.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class CudaAwareMpiTest {

    /** Excerpt of {@code ompi_info --parsable --all} of Open MPI 4.1 built without CUDA. */
    private static final String OMPI4_NO_CUDA = """
            package:Open MPI Debian
            ompi:version:full:4.1.4
            ompi:version:repo:v4.1.4
            options:mpi_ext:affinity, cuda, pcollreq
            mca:opal:base:param:opal_built_with_cuda_support:value:false
            mca:opal:base:param:opal_built_with_cuda_support:source:default
            mca:opal:base:param:opal_built_with_cuda_support:synonym:name:mpi_built_with_cuda_support
            mca:opal:base:param:opal_cuda_support:value:false
            mca:opal:base:param:opal_cuda_support:synonym:name:mpi_cuda_support
            """;

    /** The same parameters of a CUDA-aware build. */
    private static final String OMPI4_CUDA = """
            ompi:version:full:4.1.5
            mca:opal:base:param:opal_built_with_cuda_support:value:true
            mca:opal:base:param:opal_built_with_cuda_support:status:read-only
            mca:opal:base:param:opal_cuda_support:value:true
            mca:opal:base:param:opal_cuda_support:source:default
            """;

    /** Open MPI 5 lists the parameter under its mpi_ name. */
    private static final String OMPI5_CUDA = """
            ompi:version:full:5.0.3
            mca:mpi:base:param:mpi_built_with_cuda_support:value:true
            mca:mpi:base:param:mpi_built_with_cuda_support:enumerator:value:0:false
            """;

    @Test
    void aBuildWithoutCudaIsNotAware() {
        CudaAwareMpi.Result r = CudaAwareMpi.parse(OMPI4_NO_CUDA, null);
        assertFalse(r.cudaAware());
        assertTrue(r.known());
        assertTrue(r.detail().contains("4.1.4") && r.detail().contains("without CUDA"), r.detail());
        // the environment cannot add what the build lacks
        assertFalse(CudaAwareMpi.parse(OMPI4_NO_CUDA, "1").cudaAware());
    }

    @Test
    void aCudaBuildIsAwareUnlessSwitchedOff() {
        assertTrue(CudaAwareMpi.parse(OMPI4_CUDA, null).cudaAware());
        assertTrue(CudaAwareMpi.parse(OMPI5_CUDA, null).cudaAware());
        CudaAwareMpi.Result off = CudaAwareMpi.parse(OMPI4_CUDA, "0");
        assertFalse(off.cudaAware());
        assertTrue(off.known());
        assertTrue(off.detail().contains(CudaAwareMpi.ENV), off.detail());
        assertTrue(CudaAwareMpi.parse(OMPI5_CUDA, "true").cudaAware());
        assertFalse(CudaAwareMpi.parse(OMPI5_CUDA, "false").cudaAware());
        String disabledByParameter =
                OMPI4_CUDA.replace("opal_cuda_support:value:true", "opal_cuda_support:value:false");
        assertFalse(CudaAwareMpi.parse(disabledByParameter, null).cudaAware());
        assertTrue(CudaAwareMpi.parse(disabledByParameter, "1").cudaAware());
    }

    @Test
    void outputWithoutTheParameterIsUnknown() {
        CudaAwareMpi.Result r = CudaAwareMpi.parse("ompi:version:full:4.1.4\n", null);
        assertFalse(r.cudaAware());
        assertFalse(r.known());
        assertTrue(r.detail().startsWith("unknown: "), r.detail());
    }

    @Test
    void detectGivesADefiniteAnswerWhereOpenMpiIsInstalled() {
        Assumptions.assumeTrue(ompiInfoRuns(), "ompi_info is not on PATH here");
        CudaAwareMpi.Result r = CudaAwareMpi.detect();
        assertNotNull(r.detail());
        assertTrue(r.known(), r.detail());
        assertTrue(r.detail().startsWith("Open MPI"), r.detail());
    }

    private static boolean ompiInfoRuns() {
        try {
            Process p = new ProcessBuilder("ompi_info", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
