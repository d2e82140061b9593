import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A hash of every key that defines a run. Two ConfigMaps with the same revision ask for the
/// same run; the first 8 hex digits go into the deterministic submission id.
public struct Revision: Sendable, Hashable, Codable, CustomStringConvertible {
    public var hex: String

    public init(hex: String) { self.hex = hex }

    /// Hashes the defining keys: everything but the operational and the ignored keys. An empty
    /// value means the default, exactly like a missing key, so it hashes the same; but an empty
    /// `jobdata.file.*` is an empty file, which a missing key is not.
    /// Keys are length-prefixed so no two different maps hash the same text.
    public init(values: [String: String]) {
        var hasher = SHA256()
        for key in values.keys.sorted() where !ConfigKey.operational.contains(key) && !ConfigKey.isIgnored(key) {
            let value = values[key] ?? ""
            if value.allSatisfy(\.isWhitespace) && !ConfigKey.isFile(key) { continue }
            hasher.update(data: Data("\(key.utf8.count):\(key)\(value.utf8.count):\(value)".utf8))
        }
        self.hex = hasher.finalize().lowercaseHex
    }

    public var short: String { String(hex.prefix(8)) }
    public var description: String { short }
}
