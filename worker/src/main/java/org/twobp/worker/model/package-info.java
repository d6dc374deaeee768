/**
 * The LLaMa-like transformer: {@link org.twobp.worker.model.ModelConfig} (from TOML), the
 * ordered {@link org.twobp.worker.model.Block}s a partitioner cuts between (embedding,
 * transformer blocks, head) with their {@link org.twobp.worker.model.BlockCost},
 * {@link org.twobp.worker.model.Model} (the whole model or one stage's range of blocks) and
 * {@link org.twobp.worker.model.StageContext} (what a stage keeps per in-flight micro-batch).
 */
package org.twobp.worker.model;
