import Foundation
import RayBridgeTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct EntrypointTests {
    static let hostile = [
        "plain", "with space", "it's", "\"double\"", "$(touch /tmp/raybridge-pwned)", "`id`", "a;b", "a && b",
        "line1\nline2", "naïve – 日本語 🚀", "back\\slash", "", "*", "~", "$HOME", "-n", "'", "''",
    ]

    @Test func kwargsOnlyWhenThereArePairs() {
        #expect(Entrypoint.build(script: "script.py", s3: nil, parameters: []) == "exec python script.py")
        #expect(Entrypoint.build(script: "script.py", s3: nil, parameters: [("k", "v")]) == "exec python script.py --kwargs 'k=v'")
    }

    @Test func s3PairsComeFirstInTheRayPodsOrder() {
        let s3 = S3Settings(endpoint: URL(string: "http://h:1")!, secure: false, region: "us-east-1", bucket: "b-1", prefix: "p/", secretName: "sec")
        #expect(
            Entrypoint.build(script: "script.py", s3: s3, parameters: [("k", "v")])
                == "exec python script.py --kwargs 's3_secret=sec' 's3_bucket=b-1' 's3_prefix=p/' 's3_secure=False' 'k=v'")
    }

    /// The shell itself is the oracle: every word must arrive exactly as given, and nothing run.
    @Test func theShellSeesExactlyTheWordsGiven() async throws {
        let parameters = Self.hostile.enumerated().map { (key: "k\($0.offset)", value: $0.element) }
        let command = Entrypoint.build(script: "script.py", s3: nil, parameters: parameters)
            .replacingOccurrences(of: "exec python ", with: "exec printf '%s\\0' ", options: .anchored)
        let output = try await ChildProcess.run(["sh", "-c", command], standardErrorToo: false).output
        let words = output.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        #expect(words == ["script.py", "--kwargs"] + parameters.map { "\($0.key)=\($0.value)" })
        #expect(!FileManager.default.fileExists(atPath: "/tmp/raybridge-pwned"))
    }
}
