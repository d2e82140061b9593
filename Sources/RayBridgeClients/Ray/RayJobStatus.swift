import RayBridgeCore

/// A Ray job's status, as Ray reports it.
public enum RayJobStatus: String, Sendable, Codable, Equatable {
    case pending = "PENDING"
    case running = "RUNNING"
    case stopped = "STOPPED"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"

    public var isTerminal: Bool {
        switch self {
        case .pending, .running: false
        case .stopped, .succeeded, .failed: true
        }
    }
}
