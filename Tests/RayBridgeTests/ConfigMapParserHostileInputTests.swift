import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Issue 11 at the parsing layer: what used to crash, leak or be silently changed.
@Suite struct ConfigMapParserHostileInputTests {
    let parser = ConfigMapParser(jobName: "demo")
    static let minimal = ["resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)"]
    static let withS3 = minimal.merging(["s3.endpoint": "127.0.0.1:9000", "s3upload.bucket": "logs"]) { $1 }

    func problems(_ values: [String: String], invalidBytes: [String: String] = [:]) -> [ConfigProblem] {
        guard case .invalid(let problems, _) = parser.parse(values, invalidBytes: invalidBytes) else { return [] }
        return problems
    }

    @Test(arguments: [
        "http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://h:-1", "http://h:",
        "http://h:80:90", "http://h:８０", "http://:8265", "http://", "http://h\u{0}st:8265", "http://h\u{7}:8265",
        "http://h st:8265", "http://[::1:8265", "http://[zz::1]:8265", "http://[fe80::1%25eth0]:8265", "http://999.1.1.1:8265",
        "http://1.2.3:8265", "http://01.2.3.4:8265", "http://a..b:8265", "http://-a.b:8265", "http://hé.local:8265",
        "http://h:8265/%zz", "http://h:8265/%00", "http://h:8265/a b", "http://h:8265/ü", "http://h:8265/#f", "ftp://h",
        "h:8265", "http:/h:8265",
    ])
    func badRayURLIsInvalid(url: String) {
        let found = problems(Self.minimal.merging(["resourceURL": url]) { $1 })
        #expect(!found.isEmpty && Set(found.map(\.key)) == ["resourceURL"], "\(RedactedURL.redact(url)): \(found)")
    }

    @Test(arguments: [
        "127.0.0.1:99999", "http://127.0.0.1:70000", "minio:0", "minio:", "[::1", "999.0.0.1:9000", "mi nio:9000",
        "minio\u{1}:9000", "http://minio:9000/bucket", "http://minio:9000?x", "ftp://minio", "a..b",
    ])
    func badS3EndpointIsInvalid(endpoint: String) {
        let found = problems(Self.withS3.merging(["s3.endpoint": endpoint]) { $1 })
        #expect(!found.isEmpty && Set(found.map(\.key)) == ["s3.endpoint"], "\(RedactedURL.redact(endpoint)): \(found)")
    }

    @Test(arguments: [
        ("http://ray-head.ray.svc.cluster.local:8265", "http://ray-head.ray.svc.cluster.local:8265"),
        ("HTTPS://Ray.Example:443/ray/", "https://Ray.Example:443/ray"),
        ("http://[::1]:8265", "http://[::1]:8265"),
        ("http://10.0.0.1", "http://10.0.0.1"),
        ("http://ray_head.local.:65535/a%20b", "http://ray_head.local.:65535/a%20b"),
    ])
    func goodRayURLIsKept(url: String, expected: String) throws {
        let spec = try #require(parser.parse(Self.minimal.merging(["resourceURL": url]) { $1 }).spec)
        #expect(spec.rayURL.absoluteString == expected)
    }

    @Test func s3EndpointForms() throws {
        for (endpoint, expected) in [
            ("minio:9000", "https://minio:9000"), ("http://minio:9000/", "http://minio:9000"), ("[::1]:9000", "https://[::1]:9000"),
        ] {
            let spec = try #require(parser.parse(Self.withS3.merging(["s3.endpoint": endpoint]) { $1 }).spec, "\(endpoint)")
            #expect(spec.s3?.endpoint.absoluteString == expected)
        }
    }

    @Test(arguments: [
        ("resourceURL", "http://admin:hunter2@ray:99999"), ("resourceURL", "http://admin:hunter2@ray:8265"),
        ("resourceURL", "http://ray:8265/?token=hunter2"), ("resourceURL", "http://ray:8265/x y?token=hunter2"),
        ("resourceURL", "http://admin:hunt/er2@ray:8265"), ("resourceURL", "ftp://admin:hunter2@ray"),
        ("s3.endpoint", "admin:hunter2@minio:9000"), ("s3.endpoint", "http://minio:9000/?X-Amz-Signature=hunter2"),
        ("s3.endpoint", "admin:hunter2@minio:99999"),
    ])
    func passwordsInURLsAreNeverShown(key: String, value: String) {
        let found = problems(Self.withS3.merging([key: value]) { $1 })
        #expect(found.contains { $0.key == key }, "\(found)")
        #expect(!found.summary.contains("hunter2"), "\(found.summary)")
        #expect(!found.summary.contains("hunt"))
    }

    @Test func problemsShowTheRedactedValue() {
        let found = problems(Self.minimal.merging(["resourceURL": "http://admin:hunter2@ray:99999/x?token=t"]) { $1 })
        #expect(found.first?.message.contains("\"http://***@ray:99999/x?***\"") == true, "\(found)")
    }

    @Test func trailingCommaAndDuplicateKeysAreInvalid() {
        for key in [ConfigKey.jobParameters, ConfigKey.scriptMetadata, ConfigKey.jobProperties] {
            #expect(problems(Self.minimal.merging([key: #"{"a": "1",}"#]) { $1 }).map(\.key) == [key])
        }
        let duplicate = problems(Self.minimal.merging([ConfigKey.jobParameters: #"{"a": "1", "a": "2"}"#]) { $1 })
        #expect(duplicate.first?.message.contains(#"duplicate key "a""#) == true, "\(duplicate)")
    }

    @Test func numbersReachTheAppAsWritten() throws {
        var values = Self.minimal
        values[ConfigKey.jobParameters] = #"{"big": 12345678901234567890, "f": 1.0, "e": 1e2, "n": -0.50}"#
        values[ConfigKey.scriptMetadata] = #"{"env": {"RATE": 1.0, "BIG": 12345678901234567890}}"#
        let spec = try #require(parser.parse(values).spec)
        guard case .inline(let extras) = spec.extras else { Issue.record("inline expected"); return }
        #expect(extras.parameters.map { "\($0.key)=\($0.value)" } == ["big=12345678901234567890", "e=1e2", "f=1.0", "n=-0.50"])
        #expect(extras.env == ["RATE": "1.0", "BIG": "12345678901234567890"])
        let entrypoint = Entrypoint.build(script: "script.py", s3: nil, parameters: extras.parameters)
        #expect(entrypoint.contains("'big=12345678901234567890' 'e=1e2' 'f=1.0' 'n=-0.50'"))
    }

    @Test func submitBodyCarriesNumbersAsWritten() throws {
        var values = Self.minimal
        values[ConfigKey.jobProperties] =
            #"{"entrypoint_num_cpus": 1.0, "entrypoint_resources": {"big": 12345678901234567890, "e": 1e2}, "runtime_env": {"config": {"setup_timeout_seconds": 600.0}}}"#
        let spec = try #require(parser.parse(values).spec)
        let run = RunRecord(submissionId: "demo-1-abc", revision: spec.revision, sequence: 1, submitted: false)
        let body = SubmitRequestBuilder.body(jobName: "demo", run: run, spec: spec, extras: ScriptExtras(), workingDir: nil)
        let text = try JSONValue.object(body).serialized()
        #expect(text.contains(#""entrypoint_num_cpus":1.0"#), "\(text)")
        #expect(text.contains(#""entrypoint_resources":{"big":12345678901234567890,"e":1e2}"#))
        #expect(text.contains(#""setup_timeout_seconds":600.0"#))
        // And it is JSON any reader accepts.
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil)
        #expect(try JSONParser.parse(text) == .object(body))
    }

    @Test func serializedEscapesStrings() throws {
        let value = JSONValue.object(["k\"\\": .string("a\nb\t\u{1}\u{7F}é/\u{2028}")])
        #expect(try value.serialized() == #"{"k\"\\":"a\nb\t\u0001\u007fé/"# + "\u{2028}\"}")
        #expect(try JSONParser.parse(try value.serialized()) == value)
        #expect(throws: JSONValueError.self) { try JSONValue.number("NaN").serialized() }
    }
}
