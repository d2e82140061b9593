import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Values are checked as bytes, before they become text, and entrypoints against what Linux can exec.
@Suite struct ConfigMapBytesAndSizeTests {
    let parser = ConfigMapParser(jobName: "demo")
    static let minimal = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)"]

    func problems(_ result: ConfigParseResult) -> [ConfigProblem] {
        guard case .invalid(let problems, _) = result else { return [] }
        return problems
    }

    /// Writes `files` as a plain ConfigMap directory and reads it the way the sidecar and
    /// `raybridge validate` both do.
    func readDirectory(_ files: [String: [UInt8]]) throws -> ConfigParseResult {
        let directory = try WatchTestDirectory()
        defer { directory.remove() }
        for (key, bytes) in files {
            try Data(bytes).write(to: URL(fileURLWithPath: directory.sub(key)))
        }
        return parser.parse(try DirectorySnapshot.read(directory: directory.path))
    }

    static var minimalBytes: [String: [UInt8]] { minimal.mapValues { Array($0.utf8) } }

    static let badBytes: [(String, [UInt8], String)] = [
        ("jobdata.jobScript", Array("print(1)\0".utf8), "NUL byte at byte offset 8"),
        // Latin-1
        ("jobdata.jobScript", Array("print('".utf8) + [0xE9] + Array("')".utf8), "not valid UTF-8 (first bad byte 0xE9 at byte offset 7)"),
        ("jobdata.jobParameters", Array(#"{"a": "x"#.utf8) + [0xFF] + Array(#""}"#.utf8), "not valid UTF-8"),
        ("resourceURL", Array("http://127.0.0.1:8265".utf8) + [0xC0, 0x80], "not valid UTF-8"),
        ("s3.secret", Array("sec\0ret".utf8), "NUL byte at byte offset 3"),
        ("colour", [0x80], "not valid UTF-8"),  // unknown keys are part of the revision: no mangling there either
        ("jobdata.scriptMetadata", [0xED, 0xA0, 0x80], "not valid UTF-8"),  // an encoded surrogate
    ]

    @Test(arguments: badBytes)
    func badBytesInAKeyAreInvalidNamingIt(key: String, bytes: [UInt8], expected: String) throws {
        var files = Self.minimalBytes
        files[key] = bytes
        let found = problems(try readDirectory(files))
        #expect(found.contains { $0.key == key && $0.message.contains(expected) }, "\(found)")
        #expect(found.filter { $0.key == key }.count == 1, "the mangled value's other failures are not piled on: \(found)")
    }

    @Test func cleanBytesAreValidAndIgnoredKeysOnlyWarn() throws {
        var files = Self.minimalBytes
        files["jobdata.jobParameters"] = Array(#"{"name": "naïve 日本 🚀"}"#.utf8)
        files["status.message"] = [0xFF, 0x00]
        let result = try readDirectory(files)
        #expect(result.spec != nil, "\(result)")
        #expect(result.warnings.contains { $0.contains("status.message") && $0.contains("NUL") })
    }

    @Test func nulInTextIsInvalidToo() {
        // A YAML manifest can write a NUL with "\0"; `raybridge validate FILE.yaml` must refuse it as the sidecar does.
        let values = try? ConfigMapManifest.data(
            fromYAML: "kind: ConfigMap\ndata:\n  resourceURL: \"http://127.0.0.1:8265\"\n  jobdata.jobScript: \"print(1)\\0\"\n")
        let found = problems(parser.parse(values ?? [:]))
        #expect(found.map(\.key) == ["jobdata.jobScript"], "\(found)")
        #expect(found.first?.message.contains("NUL") == true)
    }

    @Test func nulInsideJSONStringsIsInvalid() {
        for (key, json) in [
            (ConfigKey.jobParameters, #"{"a": "x\u0000y"}"#), (ConfigKey.scriptMetadata, #"{"env": {"A": "x\u0000"}}"#),
            (ConfigKey.scriptMetadata, #"{"pip": ["x\u0000"]}"#),
        ] {
            let found = problems(parser.parse(Self.minimal.merging([key: json]) { $1 }))
            #expect(found.map(\.key) == [key], "\(json): \(found)")
        }
    }

    @Test func nulInAParameterNameIsInvalidNamingIt() {
        // Ray's shell gets `a\0b=1` as one argv word, and C cuts it at the NUL: the app would see `a`.
        for json in [#"{"a\u0000b": "1"}"#, #"{"\u0000": 1}"#, #"{"ab\u0000": true}"#] {
            let found = problems(parser.parse(Self.minimal.merging([ConfigKey.jobParameters: json]) { $1 }))
            #expect(found.map(\.key) == [ConfigKey.jobParameters], "\(json): \(found)")
            #expect(found.first?.message.contains("contains a NUL character") == true, "\(json): \(found)")
        }
        let found = problems(parser.parse(Self.minimal.merging([ConfigKey.jobParameters: #"{"a\u0000b": "1"}"#]) { $1 }))
        // Named as written in the JSON: a raw NUL in a message would cut the log line or the status file.
        #expect(found.first?.message == #"parameter name "a\u0000b" contains a NUL character"#, "\(found)")
    }

    @Test func nulInAParameterNameFetchedFromS3IsInvalid() {
        // The same check when the parameters come from an S3 object (`ScriptExtras.parse` at submit time).
        let source = "jobdata.jobParameters (s3://bucket/params.json)"
        let (extras, found) = ScriptExtras.parse(
            metadata: "", metadataKey: ConfigKey.scriptMetadata, parameters: #"{"a\u0000b": "1", "c": "2"}"#, parametersKey: source)
        #expect(found.map(\.key) == [source], "\(found)")
        #expect(found.first?.message.contains(#""a\u0000b" contains a NUL character"#) == true, "\(found)")
        #expect(extras.parameters.map(\.key) == ["c"])
    }

    @Test func oneHugeParameterIsInvalidWithItsSize() {
        let value = String(repeating: "x", count: 131_072)
        let found = problems(parser.parse(Self.minimal.merging([ConfigKey.jobParameters: #"{"blob": "\#(value)"}"#]) { $1 }))
        #expect(found.map(\.key) == [ConfigKey.jobParameters])
        #expect(found.first?.message.contains("parameter \"blob\" is 131077 bytes") == true, "\(found)")
    }

    @Test func manyParametersOverTheArgumentLimitAreInvalidWithTheSize() {
        let object = (0..<100).map { #""p\#($0)": "\#(String(repeating: "y", count: 1400))""# }.joined(separator: ", ")
        let found = problems(parser.parse(Self.minimal.merging([ConfigKey.jobParameters: "{\(object)}"]) { $1 }))
        #expect(found.map(\.key) == [ConfigKey.jobParameters])
        #expect(found.first?.message.contains("the entrypoint would be 14") == true, "\(found)")
        #expect(found.first?.message.contains("bytes") == true)
    }

    @Test func aHugeClusterPathIsInvalidOnTheScriptKey() {
        let values = Self.minimal.merging([ConfigKey.scriptLocation: "cluster", ConfigKey.jobScript: "/" + String(repeating: "d", count: 140_000)]) {
            $1
        }
        #expect(problems(parser.parse(values)).map(\.key) == [ConfigKey.jobScript])
    }

    @Test func anEntrypointJustUnderTheLimitIsValid() {
        let overhead = Entrypoint.build(script: "script.py", s3: nil, parameters: [("k", "")]).utf8.count
        let value = String(repeating: "z", count: EntrypointLimit.maximumBytes - overhead)
        let result = parser.parse(Self.minimal.merging([ConfigKey.jobParameters: #"{"k": "\#(value)"}"#]) { $1 })
        #expect(result.spec != nil)
        let over = parser.parse(Self.minimal.merging([ConfigKey.jobParameters: #"{"k": "\#(value)z"}"#]) { $1 })
        #expect(over.spec == nil)
    }
}
