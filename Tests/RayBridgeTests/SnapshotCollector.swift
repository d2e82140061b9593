import RayBridge
import RayBridgeClients
import RayBridgeCore
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

    /// Waits for the `index`-th snapshot (0-based).
    func waitFor(_ index: Int, timeout: Duration = .seconds(5)) async -> DirectorySnapshot? {
        _ = await Self.eventually(timeout: timeout) { count > index }
        return received.withLock { $0.count > index ? $0[index].snapshot : nil }
    }

    func cancel() {
        task.withLock { $0?.cancel() }
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held.
    static func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
