import Foundation
import RayBridgeTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Compares the signer with botocore's S3SigV4Auth on many random requests, in one Python process.
/// A missing Python or botocore fails the test: this is the signer's main evidence of correctness.
@Suite struct SigV4OracleTests {
    static let caseCount = 600

    // add_auth reads the clock through botocore.auth.get_current_datetime and overwrites
    // request.context['timestamp'], so the clock function is replaced per case.
    // The explicit s3 payload_signing_enabled config makes botocore hash the body (or send
    // UNSIGNED-PAYLOAD) regardless of scheme and Content-MD5.
    static let script = #"""
        import base64, datetime, json, sys
        import botocore.auth
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.config import Config
        from botocore.credentials import Credentials

        out = []
        for c in json.load(open(sys.argv[1])):
            try:
                fixed = datetime.datetime.fromtimestamp(c["epochSeconds"], datetime.timezone.utc).replace(tzinfo=None)
                botocore.auth.get_current_datetime = lambda *a, fixed=fixed, **k: fixed
                body = None if c.get("bodyBase64") is None else base64.b64decode(c["bodyBase64"])
                request = AWSRequest(method=c["method"], url=c["url"], data=body or b"")
                for name, value in c["headers"]:
                    request.headers[name] = value
                request.context["client_config"] = Config(s3={"payload_signing_enabled": body is not None})
                credentials = Credentials(c["accessKeyId"], c["secretAccessKey"], c.get("sessionToken"))
                S3SigV4Auth(credentials, "s3", c["region"]).add_auth(request)
                out.append({name.lower(): request.headers.get(name) for name in
                            ["Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token"]})
            except Exception as error:
                out.append({"error": repr(error)})
        json.dump({"botocore": botocore.__version__, "results": out}, open(sys.argv[2], "w"))
        """#

    struct Output: Decodable {
        var botocore: String
        var results: [[String: String?]]
    }

    static func pythonCommand() -> String {
        if let python = ProcessInfo.processInfo.environment["RAYBRIDGE_PYTHON"], !python.isEmpty {
            return python
        }
        // The project's venv (make deps; RAYBRIDGE_VENV moves it), else whatever python3 is about.
        let venv = RepositoryLayout.venvPython
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    @Test func signaturesMatchBotocore() async throws {
        var rng = SplitMix64(seed: 0x5EED_2013_0524)
        let cases = (0..<Self.caseCount).map { _ in SigV4OracleCase.random(using: &rng) }

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("raybridge-sigv4-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("cases.json")
        let output = directory.appendingPathComponent("signed.json")
        try JSONEncoder().encode(cases).write(to: input)

        let python = try await ChildProcess.run([Self.pythonCommand(), "-c", Self.script, input.path, output.path])
        try #require(
            python.status == 0,
            "\(Self.pythonCommand()) with botocore failed (set RAYBRIDGE_PYTHON to a Python that has botocore): \(python.text)")

        let signed = try JSONDecoder().decode(Output.self, from: Data(contentsOf: output))
        try #require(signed.results.count == cases.count)

        var mismatches = 0
        for (index, (testCase, expected)) in zip(cases, signed.results).enumerated() {
            let signer = SigV4Signer(
                credentials: S3Credentials(
                    accessKeyId: testCase.accessKeyId, secretAccessKey: testCase.secretAccessKey,
                    sessionToken: testCase.sessionToken),
                region: testCase.region)
            let payload =
                testCase.bodyBase64.map { SigV4Signer.sha256Hex(Data(base64Encoded: $0)!) }
                ?? SigV4Signer.unsignedPayload
            let added = signer.sign(
                method: testCase.method, url: URL(string: testCase.url)!,
                headers: testCase.headers.map { ($0[0], $0[1]) }, payloadSHA256Hex: payload,
                date: Date(timeIntervalSince1970: TimeInterval(testCase.epochSeconds)))
            var ours: [String: String?] = [
                "authorization": nil, "x-amz-date": nil, "x-amz-content-sha256": nil, "x-amz-security-token": nil,
            ]
            for header in added { ours[header.name] = header.value }
            // A header the signer does not supersede is sent as the caller gave it.
            for (name, value) in ours where value == nil {
                ours.updateValue(testCase.headers.first { $0[0].lowercased() == name }.map { $0[1] }, forKey: name)
            }
            if ours != expected {
                mismatches += 1
                if mismatches <= 5 {
                    let request = String(decoding: try JSONEncoder().encode(testCase), as: UTF8.self)
                    Issue.record("case \(index) differs from botocore \(signed.botocore)\nrequest: \(request)\nours: \(ours)\nbotocore: \(expected)")
                }
            }
        }
        #expect(mismatches == 0, "\(mismatches) of \(cases.count) signatures differ from botocore \(signed.botocore)")
    }
}
