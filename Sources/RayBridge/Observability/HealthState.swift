import RayBridgeClients
import RayBridgeCore
import Synchronization

/// What the probes report, set by the parts that know.
public final class HealthState: Sendable {
    private struct State {
        var configRead = false
        var rayReachable = false
        var rayProblem = "Ray not contacted yet"
    }

    private let state = Mutex(State())

    public init() {}

    public func configRead() { state.withLock { $0.configRead = true } }

    public func ray(reachable: Bool, problem: String = "") {
        state.withLock {
            $0.rayReachable = reachable
            $0.rayProblem = problem
        }
    }

    /// nil when ready, else why not.
    public var notReadyReason: String? {
        state.withLock { s in
            if !s.configRead { return "the ConfigMap has not been read yet" }
            if !s.rayReachable { return s.rayProblem }
            return nil
        }
    }
}
