/**
 * Single-process training ({@link org.twobp.worker.train.TrainMain}, {@link org.twobp.worker.train.Trainer})
 * and the engine benchmark ({@link org.twobp.worker.train.BenchEngine}).
 */
package org.twobp.worker.train;
