import RayBridgeCore

/// What went wrong talking to Ray, worded so the status message tells the user what to do.
public enum RayClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP answer: connection refused, DNS, timeout.
    case unreachable(url: String, reason: String)
    /// The TLS handshake failed: the certificate does not verify against the trust roots (the
    /// system's and `--ca-file`), or the CA file cannot be used. Never retried without checking.
    case untrusted(url: String, reason: String)
    /// 401 or 403: token auth is on and our token is missing or wrong, or a proxy in front of the
    /// dashboard wants other headers (`headers`: the names of those sent from `--ray-headers-file`).
    /// `answer`: the start of the refusal's body, secrets taken out.
    case unauthorized(status: Int, tokenSent: Bool, headers: [String] = [], answer: String = "")
    /// `--ray-headers-file` cannot be used: nothing is sent until it is fixed.
    case unusableHeaders(RayHeadersFileError)
    case notFound(what: String)
    /// The submission id exists already: the run was submitted before.
    case duplicateSubmission(id: String)
    /// 4xx: Ray refused the request itself; retrying the same request cannot help.
    case rejected(status: Int, body: String)
    /// 5xx or an unreadable answer.
    case server(status: Int, body: String)

    public var isRetryable: Bool {
        switch self {
        case .unreachable, .untrusted, .unauthorized, .server, .unusableHeaders: true
        case .notFound, .duplicateSubmission, .rejected: false
        }
    }

    /// No answer came from Ray at all: what is known about the cluster (its version) may be stale.
    public var meansUnreachable: Bool {
        switch self {
        case .unreachable, .untrusted, .unusableHeaders: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            "Ray at \(url) is unreachable (\(reason)); check resourceURL and that the Ray head is up"
        case .untrusted(let url, let reason):
            "cannot trust Ray at \(url): \(reason)"
        case .unauthorized(let status, let tokenSent, let headers, let answer):
            Self.refusal(status: status, tokenSent: tokenSent, headers: headers) + (answer.isEmpty ? "" : "; the answer: \(answer)")
        case .unusableHeaders(let error):
            "not sending anything to Ray: \(error)"
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

    private static func refusal(status: Int, tokenSent: Bool, headers: [String]) -> String {
        switch (tokenSent, headers.isEmpty) {
        case (true, true):
            "Ray refused our token (HTTP \(status)); check the token file in the Ray credentials Secret"
        case (false, true):
            "Ray requires a token (HTTP \(status)) and none was found; mount the Ray credentials Secret with a 'token' file"
                + " (or, if a proxy in front of the dashboard refused, give the headers it wants with --ray-headers-file)"
        case (true, false):
            "Ray or the proxy in front of it refused the request (HTTP \(status)) with our token and the headers "
                + headers.joined(separator: ", ") + " of --ray-headers-file; check the token file and the headers' values"
        case (false, false):
            "Ray or the proxy in front of it refused the request (HTTP \(status)) with the headers " + headers.joined(separator: ", ")
                + " of --ray-headers-file and no token; check the headers' values, and mount the Ray credentials Secret with a 'token' file if Ray asks for one"
        }
    }
}
