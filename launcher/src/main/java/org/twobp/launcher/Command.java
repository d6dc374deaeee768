package org.twobp.launcher;

/** One subcommand of {@code twobp}. */
interface Command {

    String name();

    /** One line for the command list. */
    String summary();

    /** Runs the command; returns the process exit code. Throws {@link UsageException} for bad arguments. */
    int run(String[] args) throws Exception;
}
