package org.twobp.worker.schedule;

/**
 * The one unchecked error of the schedule package: a malformed, invalid or deadlocking schedule,
 * or a request no generator can satisfy. Messages name the rank, slot and action where there is one.
 */
public class ScheduleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ScheduleException(String message) {
        super(message);
    }

    public ScheduleException(String message, Throwable cause) {
        super(message, cause);
    }
}
