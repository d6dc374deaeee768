package org.twobp.checkpoints;

/** How hard to look before calling a checkpoint complete. */
public enum Check {
    /** The manifest is there and intact. */
    MANIFEST,
    /** ... and every stage file it lists is there with the recorded size (catches truncation). */
    QUICK,
    /** ... and every stage file's bytes match the recorded CRC-32 (catches flipped bytes; reads everything). */
    FULL
}
