import SystemPackage

// What the code took from full Foundation beyond FoundationEssentials: `String(format: "%02x")`,
// `trimmingCharacters(in:)` and NSString's path methods. Full Foundation links ICU (34 MB of
// data in the binary) for them; these need none of it.

extension BinaryInteger {
    /// Hexadecimal digits, zero-padded to `width`, as `String(format: "%0<width>x")` wrote them.
    public func hexDigits(width: Int, uppercase: Bool = false) -> String {
        let digits = String(self, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Sequence<UInt8> {
    /// Two lowercase hex digits a byte, as digests are written.
    public var lowercaseHex: String {
        var out = ""
        for byte in self { out += byte.hexDigits(width: 2) }
        return out
    }
}

extension String {
    /// Without leading and trailing Unicode White_Space: the scalars of Foundation's
    /// `.whitespacesAndNewlines` (categories Z*, U+0009-U+000D, U+0085), which are the same set.
    public func trimmingWhitespace() -> String {
        trimmingScalars { $0.properties.isWhitespace }
    }

    /// Without leading and trailing spaces and tabs: Foundation's `.whitespaces` (category Zs and
    /// U+0009), so a line break stays.
    public func trimmingSpacesAndTabs() -> String {
        trimmingScalars { $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }
    }

    /// Scalar by scalar, as `trimmingCharacters(in:)` trims (not by Character).
    public func trimmingScalars(where isTrimmed: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isTrimmed($0) }), let last = scalars.lastIndex(where: { !isTrimmed($0) }) else {
            return ""
        }
        return String(scalars[first...last])
    }
}

public enum FilePaths {
    /// `directory/name`, as NSString's `appendingPathComponent` joined them.
    public static func join(_ directory: String, _ name: String) -> String {
        FilePath(directory).appending(name).string
    }

    /// The directory `path` is in, as NSString's `deletingLastPathComponent` gave it.
    public static func parent(of path: String) -> String {
        FilePath(path).removingLastComponent().string
    }
}
