import Foundation
import RayBridgeClients
import RayBridgeCore

/// The run whose log is to be followed now, and what for.
public struct FollowRequest: Sendable, Equatable {
    public var submissionId: String
    /// The cluster the run lives on.
    public var rayURL: URL
    /// Where the cluster's driver logs can be read exactly (it depends on its release).
    public var source: DriverLogSource
    public var sink: LogSinkKind

    public init(submissionId: String, rayURL: URL, source: DriverLogSource, sink: LogSinkKind) {
        self.submissionId = submissionId
        self.rayURL = rayURL
        self.source = source
        self.sink = sink
    }
}
