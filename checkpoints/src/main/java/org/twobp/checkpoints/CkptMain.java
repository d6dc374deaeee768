package org.twobp.checkpoints;

/**
 * {@code java -cp ... org.twobp.checkpoints.CkptMain ls|verify|convert|bench ...}: the same
 * commands as {@code twobp ckpt}, without the launcher.
 */
public final class CkptMain {

    private CkptMain() {
    }

    public static void main(String[] args) {
        System.exit(CkptCommands.run(args, System.out, System.err));
    }
}
