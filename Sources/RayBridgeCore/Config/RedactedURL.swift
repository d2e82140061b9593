/// Makes a URL-like value safe to show in status files, logs and error messages.
///
/// It works on any text, including text that no URL parser accepts: the values that need it most
/// are the invalid ones, and a parser that refuses them cannot say where their password is.
public enum RedactedURL {
    /// Longer values are cut (after redaction, so a cut never exposes what it would have hidden).
    public static let defaultLimit = 200

    /// `user:password@` becomes `***@`, a query `?***`, a fragment `#***`; control characters and
    /// whitespace other than a plain space are escaped as `\u{..}`, so the value stays on one line.
    ///
    /// A password may hold an unescaped `/`, `?`, `#` or `@`, so every character up to the last `@`
    /// after the scheme is taken for userinfo: hiding part of a path that has an `@` in it is the
    /// cheaper mistake.
    public static func redact(_ text: String, limit: Int = defaultLimit) -> String {
        let scalars = Array(text.unicodeScalars)
        let authorityStart = schemeLength(scalars)
        var result = String(String.UnicodeScalarView(scalars[..<authorityStart]))
        var rest = Array(scalars[authorityStart...])
        if let at = rest.lastIndex(of: "@") {
            result += "***@"
            rest = Array(rest[(at + 1)...])
        }
        if let mark = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            result += String(String.UnicodeScalarView(rest[..<mark])) + "\(rest[mark])***"
        } else {
            result += String(String.UnicodeScalarView(rest))
        }
        return truncate(escape(result), limit: limit)
    }

    /// The length of `scheme://` at the start, or 0: `[A-Za-z][A-Za-z0-9+.-]*://` (RFC 3986).
    private static func schemeLength(_ scalars: [Unicode.Scalar]) -> Int {
        guard let first = scalars.first, first.isASCII, first.properties.isAlphabetic else { return 0 }
        var i = 1
        while i < scalars.count, scalars[i].isASCII,
            scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) || "+.-".unicodeScalars.contains(scalars[i])
        {
            i += 1
        }
        return scalars[i...].starts(with: "://".unicodeScalars) ? i + 3 : 0
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let invisible =
                scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || (scalar != " " && scalar.properties.isWhitespace)
                || scalar.properties.generalCategory == .format
            if invisible {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func truncate(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "…"
    }
}
