package org.twobp.launcher;

/** Bad command-line input: printed with a pointer to --help, exit code 2. */
final class UsageException extends RuntimeException {

    private final String command;

    UsageException(String command, String message) {
        super(message);
        this.command = command;
    }

    String command() {
        return command;
    }
}
