package org.twobp.checkpoints;

/**
 * The one exception of the checkpoints module. Its message names the checkpoint, file or tensor
 * concerned, says what was wrong and what to do about it.
 */
public class CheckpointException extends RuntimeException {

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
