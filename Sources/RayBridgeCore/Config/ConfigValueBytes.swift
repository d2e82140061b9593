#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns the bytes of a ConfigMap file into text without hiding what cannot be text.
///
/// `String(decoding:as:)` silently replaces invalid UTF-8 with U+FFFD, and a NUL passes through
/// and is later cut off by C APIs (argv, environment): either way the app would get something
/// other than what the ConfigMap holds. The problem is reported against the key instead.
public enum ConfigValueBytes {
    /// The text (lossy, for display and hashing only) and, when the bytes are not clean UTF-8
    /// text, what is wrong with them.
    public static func decode(_ data: Data) -> (text: String, problem: String?) {
        let bytes = [UInt8](data)
        return (String(decoding: bytes, as: UTF8.self), problem(bytes))
    }

    /// What makes `bytes` unusable as a value: a NUL byte or invalid UTF-8, with the byte offset.
    public static func problem(_ bytes: [UInt8]) -> String? {
        if let nul = bytes.firstIndex(of: 0) {
            return "contains a NUL byte at byte offset \(nul); values must be text without NUL"
        }
        if let bad = firstInvalidUTF8(bytes) {
            return
                "is not valid UTF-8 (first bad byte 0x\(bytes[bad].hexDigits(width: 2, uppercase: true)) at byte offset \(bad)); values must be UTF-8 text"
        }
        return nil
    }

    /// A NUL character in text that is valid UTF-8 already (a YAML "\0" escape, a test's map).
    public static func problem(_ text: String) -> String? {
        text.utf8.contains(0) ? problem(Array(text.utf8)) : nil
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}
