import Foundation

extension JSONValue {
    /// Compact JSON text with every number written exactly as it was parsed.
    ///
    /// `JSONEncoder` can only emit numbers it holds as `Int64`, `Double` or `Decimal`, which turns
    /// `1.0` into `1` and `12345678901234567890` into `1.2345678901234567e+19`; the submit body must
    /// carry what the ConfigMap says. Object keys are sorted so equal values give equal bytes.
    /// Throws only for a `.number` whose text is not a JSON number (a programming error upstream),
    /// rather than send Ray a body it would misread.
    public func serialized() throws(JSONValueError) -> String {
        var out = ""
        try write(into: &out)
        return out
    }

    private func write(into out: inout String) throws(JSONValueError) {
        switch self {
        case .string(let s): Self.writeString(s, into: &out)
        case .number(let n):
            guard case .number(let parsed)? = try? JSONParser.parse(n), parsed == n else {
                throw JSONValueError(message: "cannot serialize \"\(n.prefix(40))\" as a JSON number")
            }
            out += n
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                try item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                try members[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    /// `text` as a JSON string literal: how a name with a control character (a NUL) is shown in a
    /// message, as it was written, rather than cutting the log line or the status file short.
    public static func quoted(_ text: String) -> String {
        var out = ""
        writeString(text, into: &out)
        return out
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
