/**
 * The automatic schedule: a greedy list scheduler searched over its knobs, judged by the
 * simulator under given costs, link and memory cap.
 */
package org.twobp.worker.schedule.auto;
