package org.twobp.launcher;

import java.util.ArrayList;
import java.util.List;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code twobp env [--selftest]}: what was detected, what looks wrong, and a transport self-test. */
final class EnvCommand implements Command {

    @Override public String name() { return "env"; }

    @Override public String summary() {
        return "what was detected (Slurm, Open MPI, PMIx, GPUs, Java MPI bindings, BLAS), warnings, --selftest";
    }

    static Options options() {
        Options o = new Options();
        o.addOption(null, "selftest", false, "also run the transport self-test between ranks (latency, bandwidth)");
        o.addOption(Option.builder().longOpt("nproc").hasArg().argName("N")
                .desc("ranks for the self-test outside an allocation (default 2); inside one, every task is used").build());
        o.addOption(Option.builder().longOpt("max-bytes").hasArg().argName("SIZE")
                .desc("largest self-test message, e.g. 64M (default 64M)").build());
        o.addOption(null, "dry-run", false, "print the self-test command instead of running it");
        return o;
    }

    @Override public int run(String[] args) throws Exception {
        CommandLine cl = CliParsing.parse(name(), "[--selftest [--nproc N] [--max-bytes SIZE]]",
                "Shows what a run would find on this machine or allocation, and what looks inconsistent.",
                options(), args);
        if (cl == null) {
            return 0;
        }
        if (!cl.getArgList().isEmpty()) {
            throw new UsageException(name(), "unexpected argument '" + cl.getArgList().get(0) + "'");
        }
        int nproc = CliParsing.intOption(name(), cl, "nproc", 2, 2);
        Environment e = Environment.detect();
        System.out.print(e.report());
        if (!cl.hasOption("selftest")) {
            return 0;
        }
        List<String> cmd = selfTestCommand(e, nproc, cl.getOptionValue("max-bytes"));
        System.out.println("self-test: " + String.join(" ", cmd));
        if (cl.hasOption("dry-run")) {
            return 0;
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        RankProcesses.allowRoot(pb);
        return pb.start().waitFor();
    }

    /** Inside an allocation: srun over every task; outside: mpirun with N local ranks. */
    static List<String> selfTestCommand(Environment e, int nproc, String maxBytes) {
        List<String> cmd = new ArrayList<>();
        if (e.inSlurmAllocation()) {
            cmd.addAll(List.of("srun", "--mpi=pmix", "--kill-on-bad-exit=1"));
        } else {
            cmd.addAll(List.of("mpirun", "--oversubscribe", "-np", String.valueOf(nproc), "-x", "OPENBLAS_NUM_THREADS=1"));
        }
        cmd.addAll(RankProcesses.javaCommand(e.openMpiLibdir()));
        cmd.add("org.twobp.mpi.SelfTest");
        if (maxBytes != null) {
            cmd.addAll(List.of("--max-bytes", maxBytes));
        }
        return cmd;
    }
}
