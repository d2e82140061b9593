import Logging
import RayBridgeCore
import Synchronization
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One extra request header for the Ray dashboard (`--ray-headers-file`). The value is a secret,
/// like the Ray token: it is sent and never shown.
public struct RayHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// `--ray-headers-file` cannot be used. The reason names the line, never a value from the file.
public struct RayHeadersFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "the headers file \(file) (--ray-headers-file) cannot be used: \(reason)" }
}

/// The format of `--ray-headers-file`: one `Name: value` a line, blank lines and lines starting with
/// `#` ignored, CRLF line ends accepted. Strict, because a header that is silently dropped or
/// mangled shows up only as a proxy's 401 with no hint why.
public enum RayHeadersFormat {
    /// Larger than any proxy accepts as a request's header section.
    public static let maximumSize = 64 << 10

    /// Headers raybridge (or its HTTP client) sets itself, or that would change what Ray does with
    /// the request, each with why, for the error message.
    static func reserved(_ lowercasedName: String) -> (name: String, why: String)? {
        switch lowercasedName {
        case "host":
            return ("Host", "raybridge sends the host of resourceURL")
        case "user-agent":
            return (
                "User-Agent",
                "raybridge sends its own: Ray before 2.52 answers 500 without one, and Ray 2.60 refuses to submit or stop for a browser's"
            )
        case "content-type", "content-length", "transfer-encoding", "expect":
            return (canonical(lowercasedName), "raybridge sets it for each request body")
        case "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade":
            return (canonical(lowercasedName), "the HTTP client manages the connection")
        case "accept", "accept-encoding", "range":
            return (canonical(lowercasedName), "raybridge reads Ray's JSON and the driver log exactly as Ray sends them")
        case "x-ray-authorization":
            return ("X-Ray-Authorization", "it carries the Ray token: put the token in the token file of --ray-credentials-dir")
        case "origin", "referer", "access-control-request-method", "access-control-request-headers":
            return (canonical(lowercasedName), "Ray takes a request with it for a browser's and refuses to submit or stop it")
        default:
            if lowercasedName.hasPrefix("sec-fetch-") {
                return (canonical(lowercasedName), "Ray takes a request with it for a browser's and refuses to submit or stop it")
            }
            return nil
        }
    }

    /// Why a file's content cannot be used.
    public struct Problem: Error, Equatable {
        public var reason: String
    }

    /// The headers of `bytes`, or why they cannot be used.
    public static func parse(_ bytes: some Collection<UInt8>) throws(Problem) -> [RayHeader] {
        var bytes = Array(bytes)
        guard bytes.count <= maximumSize else { throw Problem(reason: "it is larger than \(maximumSize >> 10) KiB") }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var headers: [RayHeader] = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = rawLine[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            line = trimmed(line)
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            // Nothing of the line is quoted in a message: a line without a colon may be a bare value.
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw Problem(reason: "line \(number) is not \"Name: value\" (it has no ':')")
            }
            let nameBytes = line[..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenCharacter) else {
                throw Problem(
                    reason: "line \(number): the text before the first ':' is not a header name (letters, digits and !#$%&'*+-.^_`|~ only, no spaces)"
                )
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let lowercased = name.lowercased()
            if let kept = reserved(lowercased) {
                throw Problem(reason: "line \(number): \(kept.name) cannot be set in the headers file: \(kept.why)")
            }
            if let earlier = seen[lowercased] {
                throw Problem(reason: "line \(number): \(name) is set already on line \(earlier)")
            }
            let value = trimmed(line[line.index(after: colon)...])
            guard !value.isEmpty else { throw Problem(reason: "line \(number): \(name) has no value") }
            if let bad = value.firstIndex(where: { !isValueCharacter($0) }) {
                // The position, not the character: it may be part of the secret.
                throw Problem(
                    reason:
                        "line \(number): the value of \(name) has a character a header cannot carry (a control character or a non-ASCII byte) at character \(value.distance(from: value.startIndex, to: bad) + 1) of the value"
                )
            }
            seen[lowercased] = number
            headers.append(RayHeader(name: name, value: String(decoding: value, as: UTF8.self)))
        }
        return headers
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return [] }
        return bytes[first...last]
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Visible ASCII, space and tab: RFC 9110 allows more (obs-text), but a non-ASCII byte in a
    /// secret is far more likely a copy-and-paste accident than meant.
    private static func isValueCharacter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (0x20...0x7E).contains(byte)
    }

    private static func canonical(_ lowercasedName: String) -> String {
        lowercasedName.split(separator: "-", omittingEmptySubsequences: false).map { $0.prefix(1).uppercased() + $0.dropFirst() }
            .joined(separator: "-")
    }
}

/// `--ray-headers-file`, usually a key of a mounted Secret. It is read before every request to Ray,
/// like the token file: the kubelet replaces a Secret by swapping `..data`, which a modification
/// time may not show (the new file can carry an older one), so the bytes themselves are compared
/// and parsed again only when they differ. A file that cannot be used stops every request to Ray
/// until it is fixed: sent without its headers, a request would only be refused by the proxy.
public final class RayHeadersFile: Sendable {
    public let path: String
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        var bytes: Data?
        var result: Result<[RayHeader], RayHeadersFileError>?
        /// What was last logged, so that a file read before every request is logged once per change.
        var logged: String?
    }

    public init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// The headers to send now.
    public func headers() throws(RayHeadersFileError) -> [RayHeader] {
        let read: Result<Data, RayHeadersFileError>
        do {
            read = .success(try FileDescriptor.readWholeFile(path))
        } catch let error as SystemCallError {
            read = .failure(RayHeadersFileError(file: path, reason: "cannot read it (\(error.errno.description))"))
        } catch {
            read = .failure(RayHeadersFileError(file: path, reason: "cannot read it (\(error))"))
        }
        let result = state.withLock { state -> Result<[RayHeader], RayHeadersFileError> in
            let result: Result<[RayHeader], RayHeadersFileError>
            switch read {
            case .success(let bytes) where bytes == state.bytes:
                if let cached = state.result { return cached }
                result = Self.parse(bytes, path: path)
            case .success(let bytes):
                result = Self.parse(bytes, path: path)
                state.bytes = bytes
            case .failure(let error):
                result = .failure(error)
                state.bytes = nil
            }
            state.result = result
            let summary: String
            switch result {
            case .success(let headers): summary = "ok: " + headers.map(\.name).joined(separator: ", ")
            case .failure(let error): summary = "failed: \(error)"
            }
            if state.logged != summary {
                state.logged = summary
                switch result {
                case .success(let headers):
                    logger.info(
                        "Ray headers read", metadata: ["file": "\(path)", "names": "\(headers.map(\.name).joined(separator: ", "))"])
                case .failure(let error):
                    logger.error("cannot use the Ray headers file; nothing is sent to Ray until it is fixed", metadata: ["error": "\(error)"])
                }
            }
            return result
        }
        return try result.get()
    }

    private static func parse(_ bytes: Data, path: String) -> Result<[RayHeader], RayHeadersFileError> {
        do {
            return .success(try RayHeadersFormat.parse(bytes))
        } catch {
            return .failure(RayHeadersFileError(file: path, reason: error.reason))
        }
    }
}
