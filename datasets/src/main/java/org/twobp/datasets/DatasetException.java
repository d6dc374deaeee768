package org.twobp.datasets;

/**
 * The one unchecked exception of the datasets module. Its message says what was wrong with the
 * data or the data spec and what to do about it, so callers can show it to the user as it is.
 */
public class DatasetException extends RuntimeException {

    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
