package org.twobp.worker.pipeline;

import java.net.InetAddress;

/** Facts about this process for run logs. */
final class SystemInfo {

    private SystemInfo() {
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
