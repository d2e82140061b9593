import RayBridgeClients
import RayBridgeCore

extension JobState {
    /// A run's state as Ray reported it.
    init(_ status: RayJobStatus) {
        switch status {
        case .pending: self = .pending
        case .running: self = .running
        case .stopped: self = .stopped
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        }
    }
}
