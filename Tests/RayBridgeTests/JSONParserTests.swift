import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// RFC 8259, strictly: what Foundation's lenient decoder let through is refused with a position.
@Suite struct JSONParserTests {
    static func failure(_ text: String) -> String? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        (#"{"a": "1",}"#, "trailing comma before '}'"),
        (#"[1, 2,]"#, "trailing comma before ']'"),
        (#"{"a": 1, "a": 2}"#, #"duplicate key "a" (first at line 1, column 2)"#),
        ("{\"a\": 1, // note\n}", "comments are not allowed"),
        ("/* c */ {}", "comments are not allowed"),
        (#"{"a": NaN}"#, "NaN and Infinity are not JSON numbers"),
        (#"{"a": -Infinity}"#, "NaN and Infinity are not JSON numbers"),
        (#"{"a": 01}"#, "leading zeros"),
        (#"{"a": -01}"#, "leading zeros"),
        (#"{"a": 1.}"#, "expected a digit after the decimal point"),
        (#"{"a": .5}"#, "expected a value"),
        (#"{"a": 1e}"#, "expected a digit in the exponent"),
        (#"{"a": +1}"#, "expected a value"),
        ("{\"a\": \"x\ty\"}", "control character U+0009 inside a string must be escaped"),
        ("{\"a\": \"x\ny\"}", "control character U+000A"),
        (#"{"a": "\ud800"}"#, "lone surrogate \\uD800"),
        (#"{"a": "\udc00x"}"#, "lone surrogate \\uDC00"),
        (#"{"a": "\ud800\u0041"}"#, "lone surrogate \\uD800"),
        (#"{"a": "\x41"}"#, "invalid escape \\x"),
        (#"{"a": "\u12"}"#, "expected 4 hex digits"),
        (#"{} x"#, "expected the end of the text after the JSON value, found 'x'"),
        (#"{}{}"#, "expected the end of the text"),
        (#"{'a': 1}"#, "expected a member name in double quotes, found '''"),
        (#"{"a": 'b'}"#, "strings must be in double quotes"),
        (#"{"a": True}"#, "expected a value"),
        (#"{"a": tru}"#, "expected true"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a": 1 "b": 2}"#, "expected ',' or '}'"),
        (#"{"a": "b"#, "unterminated string"),
        (#"{"a": "#, "expected a value, found the end of the text"),
        ("\u{FEFF}{}", "found U+FEFF"),
        ("", "expected a value, found the end of the text"),
    ])
    func strictRejections(text: String, expected: String) {
        let message = Self.failure(text)
        #expect(message?.contains(expected) == true, "\(text): \(message ?? "accepted")")
        #expect(message?.hasPrefix("is not valid JSON: at line ") == true, "the position comes first: \(message ?? "")")
    }

    @Test func nestingIsBoundedAt64() {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(Self.failure(ok) == nil)
        #expect(Self.failure(deep)?.contains("nesting deeper than 64 levels") == true)
        // A hostile depth fails fast instead of exhausting the stack.
        #expect(Self.failure(String(repeating: "[", count: 200_000)) != nil)
    }

    @Test func positionsAreLineAndColumnInCharacters() {
        #expect(Self.failure("{\n  \"é\": 1,\n  \"b\": 2,\n}") == "is not valid JSON: at line 4, column 1: trailing comma before '}'")
        #expect(Self.failure("{\"日本\": 1, \"日本\": 2}")?.contains("at line 1, column 11: duplicate key \"日本\" (first at line 1, column 2)") == true)
    }

    @Test func numbersKeepTheirText() throws {
        let value = try JSONParser.parse(#"[12345678901234567890, 1.0, 1e2, -0, 0.5E-3, 1E+2]"#)
        #expect(value == .array(["12345678901234567890", "1.0", "1e2", "-0", "0.5E-3", "1E+2"].map(JSONValue.number)))
    }

    @Test func validDocumentsParse() throws {
        let value = try JSONParser.parse(" {\"a\": [true, false, null, \"\\u00e9\\ud83d\\ude80\\n\\\"\\/\"], \"b\": {}} \r\n\t")
        #expect(value == .object(["a": .array([.bool(true), .bool(false), .null, .string("é🚀\n\"/")]), "b": .object([:])]))
        // Duplicate names in different objects are fine; only siblings collide.
        #expect(Self.failure(#"{"a": {"x": 1}, "b": {"x": 1}}"#) == nil)
    }

    @Test func errorsDoNotEchoTheValue() {
        let message = Self.failure(#"{"password": "hunter2", "password": "x"}"#) ?? ""
        #expect(!message.contains("hunter2"))
        #expect(Self.failure(#"{"token": "s3cr3t",}"#)?.contains("s3cr3t") == false)
    }
}
