/**
 * The {@link org.twobp.worker.backend.Backend} interface: allocation with accounting, GEMM
 * (with transposes and strided batches) and every other operation the layers use. Layers see
 * only this interface; {@code backend.cpu} implements it on OpenBLAS and Java threads, and a
 * device backend implements the same operations.
 */
package org.twobp.worker.backend;
