import Foundation
import RayBridgeClients
import RayBridgeCore

/// The state machine's decision about a run's driver log: follow it on this cluster, and ship it
/// to S3 or (without S3) only watch it for the run's end.
public struct LogFollowPlan: Sendable, Equatable {
    public var submissionId: String
    public var rayURL: URL
    /// How the log reads depends on the release (nil: unknown, taken for the newest).
    public var rayVersion: RayVersion?
    public var ship: S3Settings?
}
