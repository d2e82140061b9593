import Foundation

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
