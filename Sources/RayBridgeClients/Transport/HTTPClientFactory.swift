import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RayBridgeCore

/// The one HTTP client the sidecar talks to Ray and S3 with.
public enum HTTPClientFactory {
    /// Sent to Ray and S3 alike (Ray before 2.52 refuses a request without one).
    public static let userAgent = "raybridge/\(RayBridgeVersion.string)"

    /// - A connection that cannot be made fails its request at once: AsyncHTTPClient's shared
    ///   client retries it until the request's deadline, so a refused port or a certificate that
    ///   does not verify showed only after 30 s, and never for a log stream (it has no deadline).
    ///   raybridge retries with its own backoff and reports every failure in the status.
    /// - Redirects are not followed: one must not carry the Ray token to another origin, and
    ///   neither Ray nor S3 redirects a well-formed request.
    public static func make(connectTimeout: TimeAmount = .seconds(10)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = connectTimeout
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}

extension HTTPClientRequest {
    /// A request as both clients send it: raybridge's User-Agent, and over https the trust roots
    /// of `--ca-file` (read again when the file changed) besides the system's.
    static func raybridge(_ method: HTTPMethod, url: String, trust: TrustRoots?) throws(TrustRootsError) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if url.lowercased().hasPrefix("https:"), let trust {
            request.tlsConfiguration = try trust.configuration()
        }
        request.headers.add(name: "User-Agent", value: HTTPClientFactory.userAgent)
        return request
    }
}
