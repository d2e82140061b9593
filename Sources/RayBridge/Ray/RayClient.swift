import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The Ray Jobs REST API (dashboard port 8265), the calls raybridge needs and nothing more.
public struct RayClient: Sendable {
    public var baseURL: URL
    public var credentials: RayCredentials
    private let http: HTTPClient
    private let timeout: TimeAmount

    /// Ray 2.60 refuses POST/PUT/DELETE from anything that looks like a browser.
    public static let userAgent = "raybridge/\(RayBridgeVersion.string)"

    public init(baseURL: URL, credentials: RayCredentials, http: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.http = http
        self.timeout = timeout
    }

    public struct Version: Sendable, Decodable {
        public var version: String
        public var rayVersion: String?
        enum CodingKeys: String, CodingKey {
            case version
            case rayVersion = "ray_version"
        }
    }

    public func version() async throws(RayClientError) -> Version {
        try decode(Version.self, from: await send(.GET, "/api/version", endpoint: "version"), what: "version")
    }

    /// Submits; a duplicate submission id is reported as `.duplicateSubmission`, which callers
    /// treat as "already submitted".
    public func submit(_ body: [String: JSONValue], submissionId: String) async throws(RayClientError) {
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw .rejected(status: 0, body: "cannot encode the request: \(error)") }
        do {
            _ = try await send(.POST, "/api/jobs/", body: data, contentType: "application/json", endpoint: "submit")
        } catch .server(_, let text) where text.contains("already exists") || text.contains("Please use a different submission_id") {
            throw .duplicateSubmission(id: submissionId)
        }
    }

    public func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails {
        try decode(RayJobDetails.self, from: await send(.GET, "/api/jobs/\(escape(submissionId))", what: "job \(submissionId)", endpoint: "job"), what: "job")
    }

    /// Every job the cluster knows, including driver jobs that were not submitted through the API.
    public func jobs() async throws(RayClientError) -> [RayJobDetails] {
        try decode([RayJobDetails].self, from: await send(.GET, "/api/jobs/", endpoint: "jobs"), what: "job list")
    }

    /// Returns whether Ray stopped a running job (false: it was not running any more).
    @discardableResult
    public func stop(_ submissionId: String) async throws(RayClientError) -> Bool {
        struct Stopped: Decodable { var stopped: Bool }
        return try decode(Stopped.self, from: await send(.POST, "/api/jobs/\(escape(submissionId))/stop", what: "job \(submissionId)", endpoint: "stop"), what: "stop").stopped
    }

    /// The whole driver log (Ray re-reads the file on each call).
    public func logs(_ submissionId: String) async throws(RayClientError) -> String {
        struct Logs: Decodable { var logs: String }
        return try decode(Logs.self, from: await send(.GET, "/api/jobs/\(escape(submissionId))/logs", what: "job \(submissionId)", maxBytes: 1 << 30, endpoint: "logs"), what: "logs").logs
    }

    /// Uploads the working_dir package unless the cluster has it already.
    public func ensurePackage(_ package: WorkingDirPackage) async throws(RayClientError) {
        do {
            _ = try await send(.GET, "/api/packages/gcs/\(package.name)", what: "package", endpoint: "package_get")
            return
        } catch .notFound {}
        _ = try await send(.PUT, "/api/packages/gcs/\(package.name)", body: package.zip, contentType: "application/zip", endpoint: "package_put")
    }

    private func escape(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? id
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws(RayClientError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .server(status: 200, body: "unreadable \(what) answer: \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
    }

    private func send(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String? = nil,
        what: String = "such resource", maxBytes: Int = 16 << 20, endpoint: String
    ) async throws(RayClientError) -> Data {
        let start = ContinuousClock.now
        var outcome = "error"
        defer { RayBridgeMetrics.rayRequest(endpoint: endpoint, outcome: outcome, ContinuousClock.now - start) }
        var request = makeRequest(method, path)
        let token = request.headers.contains(name: "Authorization")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            bytes = try await response.body.collect(upTo: maxBytes)
        } catch {
            throw .unreachable(url: baseURL.absoluteString, reason: TransportFailure.describe(error))
        }
        let data = Data(bytes.readableBytesView)
        outcome = String(response.status.code)
        switch response.status.code {
        case 200..<300:
            return data
        case 401, 403:
            throw .unauthorized(status: Int(response.status.code), tokenSent: token)
        case 404:
            throw .notFound(what: what)
        case 400..<500:
            throw .rejected(status: Int(response.status.code), body: String(decoding: data.prefix(2000), as: UTF8.self))
        default:
            throw .server(status: Int(response.status.code), body: String(decoding: data.prefix(2000), as: UTF8.self))
        }
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL.absoluteString + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: "Accept", value: "application/json")
        if let token = credentials.token() {
            // Ray >= 2.52 reads either header; the second survives proxies that rewrite Authorization.
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "X-Ray-Authorization", value: "Bearer \(token)")
        }
        return request
    }

    /// Waits until the run's driver is placed (its node holds the driver log): the node and the
    /// run, or nil and the run when it ended without a driver (a runtime env failure). Polls every
    /// 250 ms at first, slowing to once a second for a run that stays pending; transient failures
    /// are retried with backoff up to 30 s, others thrown.
    public func waitForDriver(_ submissionId: String) async throws -> (nodeId: String?, details: RayJobDetails) {
        var delay: Duration = .milliseconds(250)
        var failures = 0
        while true {
            try Task.checkCancellation()
            do {
                let details = try await job(submissionId)
                if let node = details.driverNodeId, !node.isEmpty { return (node, details) }
                if details.status.isTerminal { return (nil, details) }
                failures = 0
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            } catch let error as RayClientError {
                failures += 1
                if !error.isRetryable { throw error }
                try await Task.sleep(for: min(.milliseconds(250) * (1 << min(failures, 7)), .seconds(30)))
            }
        }
    }

    /// The driver log through the state API: `follow` streams the whole file from byte 0, then
    /// whatever is appended, forever (it never closes by itself); otherwise the file as it is now,
    /// ending at its end (for a run that is over). `lastLines` starts from the last N lines instead.
    /// Read the body with backpressure: AsyncHTTPClient only reads from the socket as the body is
    /// consumed.
    public func streamDriverLog(
        nodeId: String, submissionId: String, follow: Bool = true, lastLines: Int? = nil
    ) async throws(RayClientError) -> HTTPClientResponse.Body {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "node_id", value: nodeId),
            URLQueryItem(name: "filename", value: "job-driver-\(submissionId).log"),
            URLQueryItem(name: "lines", value: lastLines.map(String.init) ?? "-1"),
        ]
        if follow { components.queryItems?.append(URLQueryItem(name: "interval", value: "0.5")) }
        let request = makeRequest(.GET, (follow ? "/api/v0/logs/stream?" : "/api/v0/logs/file?") + (components.percentEncodedQuery ?? ""))
        let response: HTTPClientResponse
        do {
            // No overall deadline: the stream lives as long as the run.
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw .unreachable(url: baseURL.absoluteString, reason: TransportFailure.describe(error))
        }
        guard response.status == .ok else {
            let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            switch response.status.code {
            case 401, 403: throw .unauthorized(status: Int(response.status.code), tokenSent: request.headers.contains(name: "Authorization"))
            case 404: throw .notFound(what: "driver log of \(submissionId)")
            default: throw .server(status: Int(response.status.code), body: text)
            }
        }
        return response.body
    }
}
