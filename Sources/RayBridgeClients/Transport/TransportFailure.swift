import AsyncHTTPClient
import NIOSSL
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a failed HTTP exchange (refused, timed out, reset) reads in an error message, the same for
/// Ray and S3: AsyncHTTPClient's own words, other errors cut to a length that fits a status file.
enum TransportFailure {
    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            return "\(error)"
        }
        let text = "\(error)"
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    /// Why the TLS handshake with `host` failed, in words a user can act on; nil when `error` is
    /// not about TLS. BoringSSL says only CERTIFICATE_VERIFY_FAILED, so the likely causes are named.
    static func tlsProblem(_ error: Error, url: URL) -> String? {
        let host = url.host.map { host in url.port.map { "\(host):\($0)" } ?? host } ?? url.absoluteString
        if let error = error as? TrustRootsError { return error.description }
        let text = "\(error)"
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the TLS certificate of \(host) is not valid for that host name (its subjectAltName does not list it)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return
                "the TLS certificate of \(host) does not verify: its issuer is not among the trusted roots (the system's and --ca-file), or it has expired (CERTIFICATE_VERIFY_FAILED)"
        }
        if error is NIOSSLError || error is BoringSSLError {
            return "TLS handshake with \(host) failed: \(text.prefix(300))"
        }
        return nil
    }
}
