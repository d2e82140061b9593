import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Ray Jobs REST API (dashboard port 8265), the calls raybridge needs and nothing more.
public struct RayClient: Sendable {
    public var baseURL: URL
    public var credentials: RayCredentials
    let http: HTTPClient
    /// Extra trust roots for an https dashboard; nil: the system's only.
    let trust: TrustRoots?
    private let timeout: TimeAmount

    /// Ray 2.60 refuses POST/PUT/DELETE from anything that looks like a browser.

    public init(
        baseURL: URL, credentials: RayCredentials, http: HTTPClient = .shared, trust: TrustRoots? = nil, timeout: TimeAmount = .seconds(30)
    ) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.http = http
        self.trust = trust
        self.timeout = timeout
    }

    /// `GET /api/version`: the cluster's Ray release, nil when the answer does not name one. Only
    /// `ray_version` is read: the other fields come and go between releases.
    public func version() async throws(RayClientError) -> RayVersion? {
        struct Answer: Decodable {
            var rayVersion: String?
            enum CodingKeys: String, CodingKey { case rayVersion = "ray_version" }
        }
        return try decode(Answer.self, from: await send(.GET, "/api/version", endpoint: "version"), what: "version").rayVersion
            .flatMap(RayVersion.init)
    }

    /// Submits; a duplicate submission id is reported as `.duplicateSubmission`, which callers
    /// treat as "already submitted".
    public func submit(_ body: [String: JSONValue], submissionId: String) async throws(RayClientError) {
        let data: Data
        // Serialized by hand: JSONEncoder would rewrite the ConfigMap's numbers (1.0 -> 1).
        do { data = Data(try JSONValue.object(body).serialized().utf8) } catch {
            throw .rejected(status: 0, body: "cannot encode the request: \(error.message)")
        }
        do {
            _ = try await send(.POST, "/api/jobs/", body: .bytes(ByteBuffer(bytes: data)), contentType: "application/json", endpoint: "submit")
        } catch .server(_, let text) where text.contains("already exists") || text.contains("Please use a different submission_id") {
            throw .duplicateSubmission(id: submissionId)
        }
    }

    public func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails {
        try decode(
            RayJobDetails.self, from: await send(.GET, "/api/jobs/\(escape(submissionId))", what: "job \(submissionId)", endpoint: "job"), what: "job"
        )
    }

    /// Every job the cluster knows, including driver jobs that were not submitted through the API.
    public func jobs() async throws(RayClientError) -> [RayJobDetails] {
        try decode([RayJobDetails].self, from: await send(.GET, "/api/jobs/", endpoint: "jobs"), what: "job list")
    }

    /// Returns whether Ray stopped a running job (false: it was not running any more).
    @discardableResult
    public func stop(_ submissionId: String) async throws(RayClientError) -> Bool {
        struct Stopped: Decodable { var stopped: Bool }
        return try decode(
            Stopped.self, from: await send(.POST, "/api/jobs/\(escape(submissionId))/stop", what: "job \(submissionId)", endpoint: "stop"),
            what: "stop"
        ).stopped
    }

    /// Deletes a finished job and its log from the cluster (`keepFinishedRuns`); Ray refuses (500)
    /// while the job is not terminal.
    public func delete(_ submissionId: String) async throws(RayClientError) {
        _ = try await send(.DELETE, "/api/jobs/\(escape(submissionId))", what: "job \(submissionId)", endpoint: "delete")
    }

    /// The whole driver log (Ray re-reads the file on each call).
    public func logs(_ submissionId: String) async throws(RayClientError) -> String {
        struct Logs: Decodable { var logs: String }
        return try decode(
            Logs.self,
            from: await send(.GET, "/api/jobs/\(escape(submissionId))/logs", what: "job \(submissionId)", maxBytes: 1 << 30, endpoint: "logs"),
            what: "logs"
        ).logs
    }

    /// Uploads the working_dir package unless the cluster has it already.
    public func ensurePackage(_ package: WorkingDirPackage) async throws(RayClientError) {
        guard try await !hasPackage(package.name) else { return }
        try await putPackage(package.name, body: .bytes(ByteBuffer(bytes: package.zip)), bytes: Int64(package.zip.count))
    }

    /// Whether the cluster holds the working_dir package `name` (the check pins it for a while).
    public func hasPackage(_ name: String) async throws(RayClientError) -> Bool {
        do {
            _ = try await send(.GET, "/api/packages/gcs/\(name)", what: "package", endpoint: "package_get")
            return true
        } catch .notFound {
            return false
        }
    }

    /// Uploads a working_dir package of `bytes` bytes. Ray answers once it has the whole body, so
    /// the deadline grows with the size: 1 s per MiB beyond the usual 30 s.
    public func putPackage(_ name: String, body: HTTPClientRequest.Body, bytes: Int64) async throws(RayClientError) {
        _ = try await send(
            .PUT, "/api/packages/gcs/\(name)", body: body, contentType: "application/zip", endpoint: "package_put",
            timeout: timeout + .seconds(bytes >> 20))
    }

    /// An answer's text as it may be shown: Ray's error pages (or a proxy's) can echo the request,
    /// token and headers included.
    func redacted(_ data: Data) -> String {
        SecretRedaction.redact(String(decoding: data, as: UTF8.self), secrets: credentials.secrets())
    }

    /// A 401 or 403, from Ray or from a proxy in front of it: what was sent decides what to check.
    func refusal(_ status: UInt, _ sent: SentCredentials, answer: Data) -> RayClientError {
        // One line of the answer tells Ray's refusal ("Missing authentication token") from a
        // proxy's page.
        let line = redacted(answer.prefix(400)).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return .unauthorized(status: Int(status), tokenSent: sent.token, headers: sent.headerNames, answer: String(line.prefix(200)))
    }

    /// A failed exchange: a certificate problem says so, anything else is "unreachable".
    func transportError(_ error: Error) -> RayClientError {
        if let problem = TransportFailure.tlsProblem(error, url: baseURL) {
            return .untrusted(url: baseURL.absoluteString, reason: problem)
        }
        return .unreachable(url: baseURL.absoluteString, reason: TransportFailure.describe(error))
    }

    func escape(_ id: String) -> String {
        // What Foundation's `.urlPathAllowed` without "/" keeps literal: RFC 3986's pchar.
        S3Path.encode(id.utf8, keepingSlash: false, alsoKeeping: "!$&'()*+,;=:@")
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws(RayClientError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .server(status: 200, body: "unreadable \(what) answer: \(redacted(data.prefix(300)))")
        }
    }

    private func send(
        _ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body? = nil, contentType: String? = nil,
        what: String = "such resource", maxBytes: Int = 16 << 20, endpoint: String, timeout: TimeAmount? = nil
    ) async throws(RayClientError) -> Data {
        let start = ContinuousClock.now
        var outcome = "error"
        defer { RayBridgeMetrics.rayRequest(endpoint: endpoint, outcome: outcome, ContinuousClock.now - start) }
        let (prepared, sent) = try makeRequest(method, path)
        var request = prepared
        if let body {
            request.body = body
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout ?? self.timeout)
            bytes = try await response.body.collect(upTo: maxBytes)
        } catch {
            throw transportError(error)
        }
        let data = Data(bytes.readableBytesView)
        outcome = String(response.status.code)
        switch response.status.code {
        case 200..<300:
            return data
        case 401, 403:
            throw refusal(response.status.code, sent, answer: data)
        case 404:
            throw .notFound(what: what)
        case 400..<500:
            throw .rejected(status: Int(response.status.code), body: redacted(data.prefix(2000)))
        default:
            throw .server(status: Int(response.status.code), body: redacted(data.prefix(2000)))
        }
    }

    /// What a request carried to prove itself, for the message when it is refused.
    struct SentCredentials {
        var token = false
        var headerNames: [String] = []
    }

    /// A request to `path` below the base URL, which may carry a path prefix (a dashboard behind an
    /// ingress at `https://gateway/ray`): the prefix is kept on every request.
    func makeRequest(_ method: HTTPMethod, _ path: String) throws(RayClientError) -> (HTTPClientRequest, SentCredentials) {
        var request: HTTPClientRequest
        do {
            request = try .raybridge(method, url: baseURL.absoluteString + path, trust: trust)
        } catch {
            throw .untrusted(url: baseURL.absoluteString, reason: error.description)
        }
        let headers: [RayHeader]
        do {
            headers = try credentials.headers()
        } catch {
            throw .unusableHeaders(error)
        }
        request.headers.add(name: "Accept", value: "application/json")
        var sent = SentCredentials(headerNames: headers.map(\.name))
        // The headers file may name Authorization (a proxy's Basic or bearer credentials): then it
        // is the proxy's, and the Ray token goes in X-Ray-Authorization alone, the header Ray keeps
        // for this. Ray reads Authorization first, so such a proxy must not pass its own on.
        let proxyTakesAuthorization = headers.contains { $0.name.lowercased() == "authorization" }
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if let token = credentials.token() {
            // Ray >= 2.52 reads either header; the second survives proxies that rewrite Authorization.
            if !proxyTakesAuthorization { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            request.headers.add(name: "X-Ray-Authorization", value: "Bearer \(token)")
            sent.token = true
        }
        return (request, sent)
    }
}

extension RayClient {
    /// The driver log through the state API: `following` streams the whole file from byte 0, then
    /// whatever is appended, forever (it never closes by itself), Ray's agent looking at the file
    /// that often; nil reads the file as it is now, ending at its end (for a run that is over).
    ///
    /// `framing` is the cluster's (`RayVersion.logFraming`). The file's bytes come out exactly,
    /// except from a follow stream of a `.marked` release (Ray < 2.33), whose status bytes cannot be
    /// told apart from the log's: use that one only as a sign of activity.
    public func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration? = nil, framing: RayLogFraming = .raw
    ) async throws(RayClientError) -> DriverLogBody {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "node_id", value: nodeId),
            URLQueryItem(name: "filename", value: "job-driver-\(submissionId).log"),
            URLQueryItem(name: "lines", value: "-1"),
        ]
        let follow = following != nil
        if let following {
            components.queryItems?.append(URLQueryItem(name: "interval", value: "\(following.timeInterval)"))
            if framing == .markedOrText { components.queryItems?.append(URLQueryItem(name: "format", value: "text")) }
        }
        let (request, sent) = try makeRequest(.GET, (follow ? "/api/v0/logs/stream?" : "/api/v0/logs/file?") + (components.percentEncodedQuery ?? ""))
        let response: HTTPClientResponse
        do {
            // No overall deadline: the stream lives as long as the run.
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw transportError(error)
        }
        guard response.status == .ok else {
            let answer = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
            let text = redacted(answer)
            switch response.status.code {
            case 401, 403: throw refusal(response.status.code, sent, answer: answer)
            case 404: throw .notFound(what: "driver log of \(submissionId)")
            default: throw .server(status: Int(response.status.code), body: text)
            }
        }
        let decoded = !follow && framing != .raw
        return DriverLogBody(body: response.body, decoder: decoded ? MarkedBlockDecoder() : nil)
    }

    /// The whole driver log through the job API (`GET /api/jobs/{id}/logs`), for clusters whose
    /// state API cannot serve it (Ray 2.52 with token auth). It comes as one JSON text, so it is
    /// held in memory whole, once per read.
    public func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody {
        DriverLogBody(whole: ByteBuffer(string: try await logs(submissionId)))
    }
}

/// The Ray calls that following a driver log needs: what `DriverLogFollower` depends on, so that it
/// can be tested against a fake cluster.
public protocol RayJobsReading: Sendable {
    func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails

    /// The state API's file endpoint (`following` nil: the file as it is now, ending at its end) or
    /// stream endpoint (the file from byte 0, then whatever is appended, never ending by itself;
    /// Ray looks at the file every `following`).
    func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration?, framing: RayLogFraming
    ) async throws(RayClientError) -> DriverLogBody

    /// The whole log through the job API (`GET /api/jobs/{id}/logs`).
    func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody
}

extension RayClient: RayJobsReading {}

/// What proves raybridge to the Ray dashboard: the Ray token as Kubernetes mounts it,
/// `<dir>/token`, and the extra headers of `--ray-headers-file` (for a proxy in front of the
/// dashboard). Both are read on every request, so a rotated Secret is used as soon as the kubelet
/// has swapped it in; a missing token file means "no token", a missing headers file is an error.
public struct RayCredentials: Sendable {
    public var directory: String?
    public var headersFile: RayHeadersFile?

    public init(directory: String?, headersFile: RayHeadersFile? = nil) {
        self.directory = directory
        self.headersFile = headersFile
    }

    public func token() -> String? {
        guard let directory,
            let data = FileManager.default.contents(atPath: FilePaths.join(directory, "token"))
        else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        return token.isEmpty ? nil : token
    }

    public func headers() throws(RayHeadersFileError) -> [RayHeader] {
        try headersFile?.headers() ?? []
    }

    /// Every value that must not be shown: the token and the headers' values.
    func secrets() -> [String] {
        (token().map { [$0] } ?? []) + ((try? headers()) ?? []).map(\.value)
    }
}
