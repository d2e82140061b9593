import RayBridgeClients
import RayBridgeCore

/// Shared between callers and the inotify thread, always under `InotifyThread`'s mutex.
struct InotifyThreadState: Sendable {
    var requests: [InotifyRequest] = []
    var running = false
    var counter: UInt64 = 0
    /// Set at process exit: the wake directory is removed on purpose and must not be recreated.
    var exiting = false
    /// The wake directories of dead processes are swept once per process, by the first thread.
    var swept = false
    /// Published by the thread after each change, for tests and diagnostics.
    var watchedDirectories: Set<String> = []

    mutating func next() -> UInt64 {
        counter += 1
        return counter
    }
}
