import RayBridgeClients
import RayBridgeCore

extension ReconcilerStateMachine {
    /// The one request to Ray that may be in flight; every decision waits for its answer.
    enum Request: Sendable, Equatable {
        case recover, fetch, submit, stop, version
    }

    /// Failed requests in a row, for the backoff and the status.
    struct FailureStreak: Sendable, Equatable {
        var message: String
        var count: Int
    }

    /// What the machine is waiting for.
    enum Activity: Sendable, Equatable {
        /// No request in flight. `wakeDue`: a timer fired or an edit came since the last request
        /// (a failure streak waits for one before the next request).
        case waiting(wakeDue: Bool, failures: FailureStreak?)
        /// The streak is carried through the request, so that the next failure backs off longer.
        case requesting(Request, failures: FailureStreak?)
        /// `--exit-on-completion` exited: nothing is decided any more.
        case finished

        var failures: FailureStreak? {
            switch self {
            case .waiting(_, let failures), .requesting(_, let failures): failures
            case .finished: nil
            }
        }
    }
}
