import RayBridge
import RayBridgeClients
import RayBridgeCore
import RayBridgeTestKit
import Synchronization

/// Consumes a watcher's stream in the background and records what arrived, and when.
final class SnapshotCollector: Sendable {
    private let received = Mutex<[(snapshot: DirectorySnapshot, at: ContinuousClock.Instant)]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(directory: String, debounce: Duration = .milliseconds(100)) {
        let watcher = DirectoryWatcher(directory: directory, debounce: debounce, logger: .init(label: "test"))
        let stream = watcher.snapshots()
        task.withLock {
            $0 = Task { [self] in
                for await snapshot in stream {
                    received.withLock { $0.append((snapshot, .now)) }
                }
            }
        }
    }

    var snapshots: [DirectorySnapshot] { received.withLock { $0.map(\.snapshot) } }
    var count: Int { received.withLock { $0.count } }

    func arrival(_ index: Int) -> ContinuousClock.Instant { received.withLock { $0[index].at } }

    /// The `index`-th snapshot (0-based), once it has arrived; nil if it does not within `timeout`.
    func waitFor(_ index: Int, timeout: Duration = .seconds(30)) async -> DirectorySnapshot? {
        try? await eventually("snapshot \(index)", timeout: timeout) { count > index }
        return received.withLock { $0.count > index ? $0[index].snapshot : nil }
    }

    func cancel() {
        task.withLock { $0?.cancel() }
    }
}
