import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// S3 credentials as Kubernetes mounts a Secret: `accesskey`, `secretkey`, optional
/// `sessiontoken`. Read on every request, so a rotated Secret is used without a restart; the
/// kernel's page cache makes that cheap.
public struct S3CredentialsFile: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func load() throws(S3CredentialsError) -> S3Credentials {
        func read(_ name: String) -> String? {
            let path = FilePaths.join(directory, name)
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            return text.isEmpty ? nil : text
        }
        guard let access = read("accesskey"), let secret = read("secretkey") else {
            throw S3CredentialsError(
                description: "no S3 credentials in \(directory): mount the S3 Secret there with files accesskey and secretkey (optional sessiontoken)"
            )
        }
        return S3Credentials(accessKeyId: access, secretAccessKey: secret, sessionToken: read("sessiontoken"))
    }
}

extension S3CredentialsFile: S3CredentialProvider {
    public func credentials() async throws(S3CredentialsError) -> S3Credentials {
        try load()
    }
}
