import AsyncHTTPClient
import NIOHTTP1

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
