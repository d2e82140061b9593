import RayBridge
import RayBridgeClients
import RayBridgeCore
import ServiceLifecycle
import Synchronization

/// The watcher feeding the reconciler, as one service of the group: it ends on SIGTERM, or
/// by itself when `--exit-on-completion` sees the run finish.
final class SidecarService: Service {
    let reconciler: Reconciler
    let watcher: DirectoryWatcher
    let exitCode = ExitCodeBox()

    init(reconciler: Reconciler, watcher: DirectoryWatcher) {
        self.reconciler = reconciler
        self.watcher = watcher
    }

    func run() async throws {
        let code = await cancelWhenGracefulShutdown {
            await self.reconciler.run(snapshots: self.watcher.snapshots())
        }
        exitCode.set(code)
    }
}

final class ExitCodeBox: Sendable {
    private let storage = Mutex<Int32?>(nil)
    func set(_ code: Int32?) { storage.withLock { $0 = code } }
    var value: Int32? { get async { storage.withLock { $0 } } }
}
