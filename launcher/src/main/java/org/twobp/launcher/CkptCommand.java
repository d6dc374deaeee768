package org.twobp.launcher;

import org.twobp.checkpoints.CkptCommands;

/** {@code twobp ckpt ls|verify|convert|bench ...}: the checkpoint tools (see CkptCommands). */
final class CkptCommand implements Command {

    @Override public String name() { return "ckpt"; }

    @Override public String summary() {
        return "checkpoints: ls RUN_DIR, verify DIR, convert SRC DST --stages P, bench DIR";
    }

    @Override public int run(String[] args) {
        return CkptCommands.run(args, System.out, System.err);
    }
}
