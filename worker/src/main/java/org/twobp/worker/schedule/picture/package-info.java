/** Timelines for people: text for the terminal, and PNG drawn like the paper's Figure 1. */
package org.twobp.worker.schedule.picture;
