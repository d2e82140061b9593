import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore

#if canImport(Glibc)
import Glibc
#endif

/// The real moto S3 server on 127.0.0.1, signature checking on (scripts/s3-server.sh).
enum S3Server {
    static var credentialsDirectory: String { TestEnvironment.repoRoot.appendingPathComponent(".run/s3").path }
    static let port = Int(ProcessInfo.processInfo.environment["S3_PORT"] ?? "9000") ?? 9000
    static var endpoint: String { "127.0.0.1:\(port)" }

    static func ensure() throws {
        let (status, output) = try TestEnvironment.shell([TestEnvironment.script("s3-server.sh"), "start"])
        guard status == 0 else { throw TestFailure("could not start the S3 server:\n\(output.suffix(4000))") }
    }

    static func client(endpoint: String? = nil) -> S3Client {
        S3Client(endpoint: URL(string: "http://\(endpoint ?? Self.endpoint)")!, region: "us-east-1",
                 credentials: S3CredentialsFile(directory: credentialsDirectory))
    }

    /// Multipart uploads left open under `prefix`, listed with boto3 (not with the product's client,
    /// whose uploads are being checked).
    static func openUploads(bucket: String, prefix: String) throws -> [String] {
        let dir = credentialsDirectory
        let script = """
            import boto3, sys
            key = open('\(dir)/accesskey').read().strip(); secret = open('\(dir)/secretkey').read().strip()
            s3 = boto3.client('s3', endpoint_url='http://\(endpoint)', region_name='us-east-1',
                              aws_access_key_id=key, aws_secret_access_key=secret)
            for u in s3.list_multipart_uploads(Bucket=sys.argv[1], Prefix=sys.argv[2]).get('Uploads', []):
                print(u['Key'])
            """
        let python = TestEnvironment.repoRoot.appendingPathComponent(".venv/bin/python").path
        let (status, output) = try TestEnvironment.shell([python, "-c", script, bucket, prefix])
        guard status == 0 else { throw TestFailure("cannot list the open uploads:\n\(output.suffix(2000))") }
        return output.split(separator: "\n").map(String.init)
    }
}

/// scripts/fault_proxy.py in front of moto (or Ray): passes requests through, or fails them on
/// demand; every request is logged.
final class FaultProxy {
    let port: Int
    let flag: String
    let logPath: String
    private let process = Process()

    init(port: Int, upstream: String = S3Server.endpoint) throws {
        self.port = port
        flag = NSTemporaryDirectory() + "raybridge-fault-\(port)"
        logPath = NSTemporaryDirectory() + "raybridge-fault-\(port).log"
        try? FileManager.default.removeItem(atPath: flag)
        try? FileManager.default.removeItem(atPath: logPath)
        process.executableURL = TestEnvironment.repoRoot.appendingPathComponent(".venv/bin/python")
        process.arguments = [
            TestEnvironment.script("fault_proxy.py"), "--port", "\(port)", "--upstream", upstream, "--fail-flag", flag, "--log", logPath,
        ]
        try process.run()
        // Ready when it accepts connections.
        for _ in 0..<100 {
            if (try? TestEnvironment.shell(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]).status) == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        kill(process.processIdentifier, SIGKILL)
        throw TestFailure("the fault proxy did not start on port \(port)")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `how`: `503` or `refuse`, then optionally a path regex and how many requests to fail.
    func fail(_ how: String) throws { try how.write(toFile: flag, atomically: true, encoding: .utf8) }

    /// The requests seen, as `METHOD PATH STATUS` lines.
    var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
    func heal() { try? FileManager.default.removeItem(atPath: flag) }

    func stop() {
        heal()
        // SIGKILL: a test runner may pass on an ignored SIGTERM to its children.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
