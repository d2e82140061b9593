import RayBridgeClients
import RayBridgeCore

/// What becomes of a followed log.
public enum LogSinkKind: Sendable, Equatable {
    /// Shipped to S3 until its object is complete.
    case s3(S3Settings)
    /// Thrown away: followed only to notice the end of the run quickly.
    case discard
}
