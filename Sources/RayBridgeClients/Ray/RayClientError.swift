import RayBridgeCore

/// What went wrong talking to Ray, worded so the status message tells the user what to do.
public enum RayClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP answer: connection refused, DNS, timeout.
    case unreachable(url: String, reason: String)
    /// The TLS handshake failed: the certificate does not verify against the trust roots (the
    /// system's and `--ca-file`), or the CA file cannot be used. Never retried without checking.
    case untrusted(url: String, reason: String)
    /// 401 or 403: token auth is on and our token is missing or wrong.
    case unauthorized(status: Int, tokenSent: Bool)
    case notFound(what: String)
    /// The submission id exists already: the run was submitted before.
    case duplicateSubmission(id: String)
    /// 4xx: Ray refused the request itself; retrying the same request cannot help.
    case rejected(status: Int, body: String)
    /// 5xx or an unreadable answer.
    case server(status: Int, body: String)

    public var isRetryable: Bool {
        switch self {
        case .unreachable, .untrusted, .unauthorized, .server: true
        case .notFound, .duplicateSubmission, .rejected: false
        }
    }

    /// No answer came from Ray at all: what is known about the cluster (its version) may be stale.
    public var meansUnreachable: Bool {
        switch self {
        case .unreachable, .untrusted: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            "Ray at \(url) is unreachable (\(reason)); check resourceURL and that the Ray head is up"
        case .untrusted(let url, let reason):
            "cannot trust Ray at \(url): \(reason)"
        case .unauthorized(let status, let tokenSent):
            tokenSent
                ? "Ray refused our token (HTTP \(status)); check the token file in the Ray credentials Secret"
                : "Ray requires a token (HTTP \(status)) and none was found; mount the Ray credentials Secret with a 'token' file"
        case .notFound(let what):
            "Ray has no \(what)"
        case .duplicateSubmission(let id):
            "submission \(id) already exists"
        case .rejected(let status, let body):
            "Ray rejected the request (HTTP \(status)): \(body.prefix(500))"
        case .server(let status, let body):
            "Ray answered HTTP \(status): \(body.prefix(500))"
        }
    }
}
