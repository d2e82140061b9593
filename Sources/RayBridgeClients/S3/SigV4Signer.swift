import Crypto
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs S3 requests with AWS Signature Version 4 in the Authorization header.
///
/// The URL's path and query are taken as percent-encoded by the caller (build them with `S3Path`).
/// Each path segment and query name/value is decoded once and re-encoded once the S3 way, which leaves
/// a correctly encoded URL unchanged (nothing is double-encoded) and still signs what S3 will compute
/// when a caller left a reserved character such as `$` literal. The path is not normalized: S3 keys may
/// contain `//`, `.` and `..` segments.
public struct SigV4Signer: Sendable {
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    // Hop-by-hop and agent headers that proxies and HTTP clients may add, drop or rewrite;
    // botocore leaves the same ones unsigned.
    static let unsignedHeaderNames: Set<String> = [
        "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "traceparent", "tracestate", "trailer", "transfer-encoding",
        "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Returns the headers to add to the request: authorization, x-amz-date, x-amz-content-sha256,
    /// and x-amz-security-token when there is a session token.
    ///
    /// `headers` are the other headers that will be sent (all are signed except hop-by-hop ones and
    /// `user-agent`); any x-amz-date, x-amz-content-sha256 or authorization among them (and
    /// x-amz-security-token when there is a token) is superseded by the returned ones and must not be
    /// sent. Host is derived from the URL unless `headers` has one.
    public func sign(
        method: String, url: URL, headers: [(name: String, value: String)], payloadSHA256Hex: String,
        date: Date
    ) -> [(name: String, value: String)] {
        let timestamp = Self.timestamp(date)
        var added: [(name: String, value: String)] = [
            ("x-amz-date", timestamp), ("x-amz-content-sha256", payloadSHA256Hex),
        ]
        if let token = credentials.sessionToken {
            added.append(("x-amz-security-token", token))
        }
        let superseded = Set(added.map(\.name))
        let kept = headers.filter { !superseded.contains($0.name.lowercased()) }
        let canonical = canonicalRequest(
            method: method, url: url, headers: kept + added, payloadSHA256Hex: payloadSHA256Hex)

        let day = String(timestamp.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, Self.sha256Hex(Array(canonical.request.utf8)),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return [("authorization", authorization)] + added
    }

    public static func sha256Hex(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    func canonicalRequest(
        method: String, url: URL, headers: [(name: String, value: String)], payloadSHA256Hex: String
    ) -> (request: String, signedHeaders: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let name = name.lowercased()
            guard !Self.unsignedHeaderNames.contains(name) else { continue }
            values[name, default: []].append(Self.trimAll(value))
        }
        if values["host"] == nil {
            values["host"] = [Self.host(of: url)]
        }
        let names = values.keys.sorted(by: Self.bytewise)
        let signedHeaders = names.joined(separator: ";")
        let request = [
            method.uppercased(),
            Self.canonicalURI(url),
            Self.canonicalQuery(url),
            names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined(),
            signedHeaders,
            payloadSHA256Hex,
        ].joined(separator: "\n")
        return (request, signedHeaders)
    }

    static func canonicalURI(_ url: URL) -> String {
        let path = url.path(percentEncoded: true)
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { S3Path.encode(S3Path.decode($0), keepingSlash: false) }
            .joined(separator: "/")
    }

    static func canonicalQuery(_ url: URL) -> String {
        guard let query = url.query(percentEncoded: true) else { return "" }
        return query.split(separator: "&")
            .map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = parts.count > 1 ? parts[1] : ""
                return (
                    S3Path.encode(S3Path.decode(parts[0]), keepingSlash: false),
                    S3Path.encode(S3Path.decode(value), keepingSlash: false)
                )
            }
            .sorted { $0.0 == $1.0 ? bytewise($0.1, $1.1) : bytewise($0.0, $1.0) }
            .map { "\($0)=\($1)" }
            .joined(separator: "&")
    }

    static func host(of url: URL) -> String {
        var host = (url.host(percentEncoded: true) ?? "").lowercased()
        if host.contains(":"), !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        let defaultPort = ["http": 80, "https": 443][url.scheme?.lowercased() ?? ""]
        if let port = url.port, port != defaultPort {
            host += ":\(port)"
        }
        return host
    }

    /// SigV4's Trimall: no leading or trailing whitespace, inner runs collapsed to one space.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2) + "T" + pad(parts.hour, 2)
            + pad(parts.minute, 2) + pad(parts.second, 2) + "Z"
    }

    // String's `<` orders by Unicode rules; SigV4 sorts by code point, which for the ASCII produced
    // here is byte order.
    private static func bytewise(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}
