import Foundation
import RayBridge
import RayBridgeTestKit

/// The real moto S3 server on 127.0.0.1, signature checking on (scripts/s3-server.sh).
enum S3Server {
    static var credentialsDirectory: String { RepositoryLayout.path(".run/s3") }
    static let port = Int(ProcessInfo.processInfo.environment["S3_PORT"] ?? "9000") ?? 9000
    static var endpoint: String { "127.0.0.1:\(port)" }

    static func ensure() throws {
        let (status, output) = try TestEnvironment.shell([TestEnvironment.script("s3-server.sh"), "start"])
        guard status == 0 else { throw TestFailure("could not start the S3 server:\n\(output.suffix(4000))") }
    }

    static func client(endpoint: String? = nil) -> S3Client {
        S3Client(
            endpoint: URL(string: "http://\(endpoint ?? Self.endpoint)")!, region: "us-east-1",
            credentials: S3CredentialsFile(directory: credentialsDirectory))
    }
}
