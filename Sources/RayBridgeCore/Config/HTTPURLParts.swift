#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// An http(s) URL from the ConfigMap, split and checked by hand.
///
/// `URLComponents` accepts what the HTTP stack later cannot use (port 99999 passes and then traps
/// when it is narrowed to 16 bits), so every part is checked here, where the problem can still be
/// reported against its key instead of crashing the sidecar.
public struct HTTPURLParts: Sendable, Equatable {
    /// `http` or `https`, lower case.
    public var scheme: String
    /// A host name or IPv4 address as written; an IPv6 address without its brackets.
    public var host: String
    public var isIPv6: Bool
    public var port: Int?
    /// Empty or starting with `/`, without trailing slashes.
    public var path: String
    /// The URL rebuilt from the checked parts.
    public var url: URL

    /// Parses `text` (already trimmed). Messages show `written` (the value as the user wrote it,
    /// when `text` was completed) redacted, never its userinfo or query. `credentialsHint` says
    /// where credentials belong instead.
    public static func parse(
        _ text: String, written: String? = nil, allowPath: Bool, credentialsHint: String
    ) -> Result<HTTPURLParts, ConfigProblemText> {
        let shown = "\"\(RedactedURL.redact(written ?? text))\""
        func failure(_ what: String) -> Result<HTTPURLParts, ConfigProblemText> { .failure(.init("\(what), found \(shown)")) }

        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                return failure(
                    "must not contain control characters (U+\(scalar.value.hexDigits(width: 4, uppercase: true)) at character \(offset + 1))")
            }
            if scalar.properties.isWhitespace {
                return failure("must not contain whitespace (at character \(offset + 1))")
            }
        }
        guard let separator = text.firstRange(of: "://") else {
            return failure("must be an http:// or https:// URL")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            let plausible = scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
            return failure("must be an http:// or https:// URL" + (plausible ? ", not \(scheme)://" : ""))
        }
        let rest = text[separator.upperBound...]
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var tail = rest[authorityEnd...]

        if authority.contains("@") {
            return failure("must not carry credentials (user:password@); \(credentialsHint)")
        }
        if let mark = tail.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            return failure("must not have a \(tail[mark] == "?" ? "query" : "fragment")")
        }
        var hostPart = Substring(authority)
        var portPart: Substring?
        var isIPv6 = false
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return failure("has an IPv6 address without its closing ']'") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return failure("must have only :port after the IPv6 address") }
                portPart = after.dropFirst()
            }
            guard Self.isIPv6(String(hostPart)) else { return failure("has an invalid IPv6 address (zone ids like %eth0 are not supported)") }
            isIPv6 = true
        } else if let colon = authority.firstIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
            if portPart!.contains(":") { return failure("has several ':' in its host; an IPv6 address must be in brackets, e.g. http://[::1]:8265") }
        }
        if hostPart.isEmpty { return failure("has no host") }
        if !isIPv6, let problem = hostNameProblem(String(hostPart)) { return failure(problem) }

        var port: Int?
        if let portPart {
            guard !portPart.isEmpty else { return failure("has ':' but no port after it") }
            guard portPart.allSatisfy({ $0.isASCII && $0.isNumber }), portPart.count <= 5, let n = Int(portPart), (1...65535).contains(n) else {
                return failure("must have a port from 1 to 65535")  // not echoed alone: it may be a cut-off password
            }
            port = n
        }
        if let problem = pathProblem(tail) { return failure(problem) }
        while tail.hasSuffix("/") { tail.removeLast() }
        if !allowPath && !tail.isEmpty { return failure("must not have a path") }
        let host = String(hostPart)
        let rebuilt = (isIPv6 ? "[\(host)]" : host) + (port.map { ":\($0)" } ?? "")
        // Checked against RFC 3986 above, so Foundation should accept it; if not, it is a problem, not a crash.
        guard let url = URL(string: "\(scheme)://\(rebuilt)\(tail)") else { return failure("is not a URL Foundation can read") }
        return .success(HTTPURLParts(scheme: scheme, host: host, isIPv6: isIPv6, port: port, path: String(tail), url: url))
    }

    /// RFC 1123 labels (underscores allowed, as some cluster DNS names have them), or an IPv4
    /// address when the last label is numeric: `999.1.1.1` is neither and must not reach a resolver.
    private static func hostNameProblem(_ host: String) -> String? {
        guard host.allSatisfy({ $0.isASCII }) else {
            return "must have an ASCII host name (write an international name in its xn-- form)"
        }
        var labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last == "" { labels.removeLast() }  // a fully qualified name's final dot
        if host.utf8.count > 253 { return "must have a host name of at most 253 characters" }
        if let last = labels.last, !last.isEmpty, last.allSatisfy(\.isNumber) {
            let octets = labels.compactMap { label -> Int? in
                guard !label.isEmpty, label.count <= 3, label.allSatisfy(\.isNumber), label == "0" || !label.hasPrefix("0") else { return nil }
                return Int(label).flatMap { $0 <= 255 ? $0 : nil }
            }
            return octets.count == 4 && labels.count == 4 ? nil : "has an invalid IPv4 address (four numbers 0-255 without leading zeros)"
        }
        for label in labels {
            if label.isEmpty { return "has an empty label in its host name (two dots, or a leading dot)" }
            if label.count > 63 { return "has a host name label longer than 63 characters" }
            if !label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
                return "has a host name with characters other than letters, digits, '-' and '_'"
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "has a host name label that starts or ends with '-'" }
        }
        return nil
    }

    private static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// RFC 3986 path characters; percent escapes must be whole and must not hide control bytes.
    private static func pathProblem(_ path: Substring) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/".utf8)
        let bytes = Array(path.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                let hexDigits = Set("0123456789abcdefABCDEF".utf8)
                guard i + 2 < bytes.count, hexDigits.contains(bytes[i + 1]), hexDigits.contains(bytes[i + 2]),
                    let value = UInt8(String(decoding: bytes[i + 1...i + 2], as: UTF8.self), radix: 16)
                else {
                    return "has a '%' in its path that is not followed by two hex digits"
                }
                if value < 0x20 || value == 0x7F {
                    return "has an escaped control character (%\(value.hexDigits(width: 2, uppercase: true))) in its path"
                }
                i += 3
                continue
            }
            if !allowed.contains(bytes[i]) {
                return bytes[i] >= 0x80
                    ? "has non-ASCII characters in its path; percent-encode them"
                    : "has a character its path cannot hold: '\(Character(Unicode.Scalar(bytes[i])))'"
            }
            i += 1
        }
        return nil
    }
}
