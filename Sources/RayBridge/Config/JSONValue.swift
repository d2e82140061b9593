import Foundation

/// A parsed JSON value that keeps numbers as written, so `10` is passed on as `10`, not `10.0`.
public enum JSONValue: Sendable, Equatable, Codable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .number(String(i))
        } else if let d = try? c.decode(Double.self) {
            self = .number(d.description)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

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
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw JSONValueError(message: "is not valid JSON (\(Self.describe(error)))")
        }
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

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError as NSError?,
                let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String
            {
                return detail
            }
            return context.debugDescription
        }
        return "\(error)"
    }
}

public struct JSONValueError: Error, Sendable {
    public var message: String
}
