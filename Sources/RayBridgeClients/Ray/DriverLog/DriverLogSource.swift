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

/// How the state API's log endpoints (`/api/v0/logs/file`, `/api/v0/logs/stream`) frame the
/// bytes of a log, by Ray release (read in `dashboard/modules/state/state_head.py` and
/// `dashboard/modules/log/log_agent.py` of the wheels).
public enum RayLogFraming: Sendable, Equatable {
    /// 2.45 and later: the body is the file's bytes.
    case raw
    /// 2.33 to 2.44: every piece the dashboard writes starts with a status byte (`1`, or `0`
    /// before an error text) unless the request asks `format=text`, which gives the raw bytes but
    /// appends an error as if it were log text. The follow stream asks for text; the file endpoint
    /// keeps the status bytes, which it writes at fixed places (`MarkedBlockDecoder`), so an error
    /// cannot pass for log bytes.
    case markedOrText
    /// 2.9 to 2.32: status bytes always. The file endpoint is decoded by position; the follow
    /// stream's pieces have any size, and HTTP chunk boundaries (the only thing that tells them
    /// apart) do not survive proxies, so its bytes are never trusted: the log is read through the
    /// file endpoint, again and again while the run lives (`DriverLogFollower`).
    case marked

    public static let textFormatSince = RayVersion(2, 33, 0)
    public static let rawSince = RayVersion(2, 45, 0)

    /// Whether the follow stream's bytes are the log's bytes.
    public var followStreamIsExact: Bool { self != .marked }
}
