import Foundation
import RayBridgeTestKit

/// scripts/tls-proxy.sh: nginx on 127.0.0.1 terminating TLS in front of the real Ray (also under
/// the path prefix `/ray/`, and behind an authenticating listener) and the real S3, with a CA made
/// by the script with openssl.
enum TLSProxy {
    static let rayURL = "https://127.0.0.1:8443"
    static let rayPrefixURL = "https://127.0.0.1:8443/ray/"
    /// Ray only for requests carrying `X-Proxy-Auth: <proxyAuthSecret>`, else 401.
    static let rayAuthURL = "https://127.0.0.1:8444"
    /// Ray only for requests carrying `Authorization: Basic <proxyBasicSecret>`, which the proxy
    /// takes off before Ray; the prefix is stripped.
    static let rayBasicAuthURL = "https://127.0.0.1:8444/basic/"
    static let s3Endpoint = "https://127.0.0.1:9443"
    static var caFile: String { RepositoryLayout.path(".run/tls/ca.pem") }
    static var wrongCAFile: String { RepositoryLayout.path(".run/tls/wrong-ca.pem") }
    static var accessLog: String { RepositoryLayout.path(".run/tls/access.log") }

    static func proxyAuthSecret() throws -> String { try secret("proxy-auth.secret") }
    static func proxyBasicSecret() throws -> String { try secret("proxy-basic.secret") }

    private static func secret(_ name: String) throws -> String {
        try String(contentsOfFile: RepositoryLayout.path(".run/tls/" + name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts it (or keeps it) in front of the services that run now: start S3 first.
    static func ensure() async throws {
        let (status, output) = try await AccessGate.serviceStarts.holding(.exclusive) {
            try await TestEnvironment.shell([TestEnvironment.script("tls-proxy.sh"), "start"])
        }
        guard status == 0 else { throw TestFailure("could not start the TLS proxy:\n\(output.suffix(4000))") }
    }

    /// A Secret-like directory holding `ca.pem`, written the kubelet's way.
    static func mountedCA(_ pem: String, in directory: String) throws -> KubeletConfigMap {
        try KubeletConfigMap(directory: directory, values: ["ca.pem": String(contentsOfFile: pem, encoding: .utf8)])
    }
}
