import RayBridgeCore

/// Where an S3 request gets the keys it is signed with: asked before every request, so a
/// provider can hand out refreshed temporary credentials in the middle of a long log stream.
public protocol S3CredentialProvider: Sendable {
    func credentials() async throws(S3CredentialsError) -> S3Credentials
}

extension S3CredentialsFile: S3CredentialProvider {
    public func credentials() async throws(S3CredentialsError) -> S3Credentials {
        try load()
    }
}
