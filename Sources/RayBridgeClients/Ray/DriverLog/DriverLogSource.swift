import RayBridgeCore

/// Where a run's driver log is read from, which depends on the cluster's release.
public enum DriverLogSource: Sendable, Equatable {
    /// The state API's file and stream endpoints (`/api/v0/logs/...`), framed as the release does.
    case stateAPI(RayLogFraming)
    /// `GET /api/jobs/{id}/logs`, the whole log each time: Ray 2.52.x's state API refuses the
    /// token it requires (its gRPC interceptor passes the token on unary calls only; fixed in 2.53).
    case jobAPI

    /// For a cluster of `version` (nil: unknown, taken for the newest), with or without a token
    /// (asked only for the releases where it matters: it is a file read).
    public static func of(_ version: RayVersion?, tokenAuth: @autoclosure () -> Bool) -> DriverLogSource {
        guard let version else { return .stateAPI(.raw) }
        if version >= RayVersion.tokenAuthSince, version < RayVersion(2, 53, 0), tokenAuth() { return .jobAPI }
        return .stateAPI(version.logFraming)
    }

    /// Whether following the log live gives its exact bytes (else it is read again and again).
    public var followsLive: Bool {
        if case .stateAPI(let framing) = self { return framing.followStreamIsExact }
        return false
    }
}
