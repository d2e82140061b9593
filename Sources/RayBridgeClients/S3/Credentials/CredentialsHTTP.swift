import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one HTTP exchange both credential endpoints (STS, the container endpoint) make.
enum CredentialsHTTP {
    static func exchange(
        _ method: HTTPMethod, url: URL, body: String?, headers: [(String, String)], http: HTTPClient, trust: TrustRoots?, what: String,
        secrets: [String]
    ) async throws(S3CredentialsError) -> (status: Int, body: Data) {
        do {
            var request = try HTTPClientRequest.raybridge(method, url: url.absoluteString, trust: trust)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await http.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), Data(bytes.readableBytesView))
        } catch {
            let reason = TransportFailure.tlsProblem(error, url: url) ?? TransportFailure.describe(error)
            throw S3CredentialsError(description: "\(what) is unreachable: \(SecretRedaction.redact(reason, secrets: secrets))")
        }
    }

    /// ISO 8601 as STS (`2026-12-03T15:04:05Z`, sometimes with fractions) and the container
    /// endpoints write it.
    static func date(_ text: String) -> Date? {
        let text = text.trimmingWhitespace()
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
