import RayBridge
import RayBridgeClients
import RayBridgeCore
import ServiceLifecycle
import Synchronization

/// The watcher feeding the reconciler, as one service of the group: it ends once a graceful
/// shutdown (SIGTERM) is drained, or by itself when `--exit-on-completion` sees the run finish.
final class SidecarService: Service {
    let reconciler: Reconciler<ContinuousClock>
    let watcher: DirectoryWatcher
    let exitCode = ExitCodeBox()

    init(reconciler: Reconciler<ContinuousClock>, watcher: DirectoryWatcher) {
        self.reconciler = reconciler
        self.watcher = watcher
    }

    func run() async throws {
        // The reconciler listens for the graceful shutdown itself: it completes the logs of runs
        // that are over before it returns.
        exitCode.set(await reconciler.run(snapshots: watcher.snapshots()))
    }
}

final class ExitCodeBox: Sendable {
    private let storage = Mutex<Int32?>(nil)
    func set(_ code: Int32?) { storage.withLock { $0 = code } }
    var value: Int32? { get async { storage.withLock { $0 } } }
}
