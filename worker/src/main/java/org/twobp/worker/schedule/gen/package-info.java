/**
 * The hand-written schedules: Naive, GPipe, 1F1B (-1 and -2), interleaved 1F1B, the memory-capped
 * 2BP 1F1B, ZB-H1, ZB-H2 and ZB-V. Each writes the compute-only 2BP form; the no-2BP baseline is
 * derived from it by fusing every p1 with its p2 ({@link org.twobp.worker.schedule.gen.ScheduleFamily}).
 */
package org.twobp.worker.schedule.gen;
