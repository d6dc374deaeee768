/**
 * Optimizers over a parameter set's flat blocks (AdamW, SGD with momentum), global gradient-norm
 * clipping that works across pipeline stages, and the warm-up + cosine learning-rate schedule.
 */
package org.twobp.worker.optim;
