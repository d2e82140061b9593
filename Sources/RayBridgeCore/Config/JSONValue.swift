#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A parsed JSON value that keeps numbers as written, so `10` is passed on as `10`, not `10.0`.
///
/// Not `Decodable`: a decoder hands numbers over as `Double` or `Int64`, which already lost what was
/// written; `JSONParser` keeps the text. `Encodable` is for the values raybridge builds itself (the
/// status file); user-written numbers go out through `serialized()`, which writes their text.
public enum JSONValue: Sendable, Equatable, Encodable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n):
            if let i = Int64(n) { try c.encode(i) } else { try c.encode(Double(n) ?? 0) }
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses text that must hold a JSON object; an empty or blank text is the empty object,
    /// as the ray pod's ConfigMaps write `jobproperties: ''`.
    public static func parseObject(_ text: String) throws(JSONValueError) -> [String: JSONValue] {
        if text.allSatisfy(\.isWhitespace) { return [:] }
        let value = try JSONParser.parse(text)
        guard case .object(let object) = value else {
            throw JSONValueError(message: "must be a JSON object ({...}), found \(value.kind)")
        }
        return object
    }

    public var kind: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The text a Python app of the ray pod era saw for this scalar (`str(value)`), or nil for
    /// arrays and objects, which cannot travel as one `key=value` word.
    public var pythonScalarText: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "True" : "False"
        case .null: "None"
        case .array, .object: nil
        }
    }
}

public struct JSONValueError: Error, Sendable {
    public var message: String
}

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
                out += "\\u" + scalar.value.hexDigits(width: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
