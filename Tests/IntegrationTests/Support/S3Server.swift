import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import RayBridgeTestKit

/// The real moto S3 server on 127.0.0.1, signature checking on (scripts/s3-server.sh).
enum S3Server {
    static var credentialsDirectory: String { RepositoryLayout.path(".run/s3") }
    static let port = Int(ProcessInfo.processInfo.environment["S3_PORT"] ?? "9000") ?? 9000
    static var endpoint: String { "127.0.0.1:\(port)" }

    static func ensure() async throws {
        let (status, output) = try await AccessGate.serviceStarts.holding(.exclusive) {
            try await TestEnvironment.shell([TestEnvironment.script("s3-server.sh"), "start"])
        }
        guard status == 0 else { throw TestFailure("could not start the S3 server:\n\(output.suffix(4000))") }
    }

    static func client(endpoint: String? = nil) -> S3Client {
        S3Client(
            endpoint: URL(string: "http://\(endpoint ?? Self.endpoint)")!, region: "us-east-1",
            credentials: S3CredentialsFile(directory: credentialsDirectory))
    }

    /// Multipart uploads left open under `prefix`, listed with boto3 (not with the product's client,
    /// whose uploads are being checked).
    static func openUploads(bucket: String, prefix: String) async throws -> [String] {
        let dir = credentialsDirectory
        let script = """
            import boto3, sys
            key = open('\(dir)/accesskey').read().strip(); secret = open('\(dir)/secretkey').read().strip()
            s3 = boto3.client('s3', endpoint_url='http://\(endpoint)', region_name='us-east-1',
                              aws_access_key_id=key, aws_secret_access_key=secret)
            for u in s3.list_multipart_uploads(Bucket=sys.argv[1], Prefix=sys.argv[2]).get('Uploads', []):
                print(u['Key'])
            """
        let (status, output) = try await TestEnvironment.shell([RepositoryLayout.venvPython, "-c", script, bucket, prefix])
        guard status == 0 else { throw TestFailure("cannot list the open uploads:\n\(output.suffix(2000))") }
        return output.split(separator: "\n").map(String.init)
    }
}
