import RayBridgeTestKit
import Synchronization

/// A port on 127.0.0.1, for helper servers the tests start themselves.
enum LoopbackPort {
    private static let last = Mutex(9600)

    /// A port no other test of this run is given, for a sidecar's `--listen`: the tests run side
    /// by side (`RayHeadAccess`), so two fixed numbers would sooner or later meet.
    static func next() -> Int {
        last.withLock {
            $0 += 1
            return $0
        }
    }

    /// Whether something accepts connections on it now.
    static func accepts(_ port: Int) async -> Bool {
        (try? await TestEnvironment.shell(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]).status) == 0
    }

    /// Waits until a freshly started server accepts connections.
    static func waitUntilAccepting(_ port: Int, what: String, timeout: Duration = .seconds(10)) async throws {
        try await eventually("\(what) to accept connections on port \(port)", timeout: timeout, every: .milliseconds(100)) {
            await accepts(port)
        }
    }
}
