/**
 * The float32 CPU backend: GEMM through netlib's JNI binding to the system OpenBLAS (plain-Java
 * fallback with a log line when no native BLAS loads), other operations as Java loops over a
 * configurable number of threads, and a pool that recycles freed buffers.
 */
package org.twobp.worker.backend.cpu;
