package org.twobp.worker.backend.cuda;

/** The device has no memory left for an allocation, even after the backend released its cache. */
public final class DeviceOutOfMemoryException extends RuntimeException {

    public DeviceOutOfMemoryException(String message) {
        super(message);
    }
}
