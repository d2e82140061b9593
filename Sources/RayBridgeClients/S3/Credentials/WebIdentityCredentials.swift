import AsyncHTTPClient
import NIOCore
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// IAM roles for service accounts: the projected service account token (re-read on every fetch,
/// the kubelet rotates it) exchanged for temporary credentials with STS
/// `AssumeRoleWithWebIdentity`. The call is not signed: the token is the proof.
public struct WebIdentityCredentials: Sendable, Equatable {
    public var tokenFile: String
    public var roleArn: String
    public var sessionName: String
    /// The STS endpoint, path included (`AWS_ENDPOINT_URL_STS`, or the regional one).
    public var stsEndpoint: URL

    public init(tokenFile: String, roleArn: String, sessionName: String, stsEndpoint: URL) {
        self.tokenFile = tokenFile
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.stsEndpoint = stsEndpoint
    }

    public func fetch(http: HTTPClient, trust: TrustRoots?, now: Date = Date()) async throws(S3CredentialsError) -> TemporaryCredentials {
        guard let data = FileManager.default.contents(atPath: tokenFile),
            case let token = String(decoding: data, as: UTF8.self).trimmingWhitespace(), !token.isEmpty
        else {
            throw S3CredentialsError(
                description:
                    "cannot read the web identity token \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE): check the service account token projection")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ]
        .map { "\(S3Path.encode(component: $0.0))=\(S3Path.encode(component: $0.1))" }.joined(separator: "&")
        let what = "STS AssumeRoleWithWebIdentity at \(stsEndpoint.absoluteString) for role \(roleArn)"
        let (status, body) = try await CredentialsHTTP.exchange(
            .POST, url: stsEndpoint, body: form, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            http: http, trust: trust, what: what, secrets: [token])
        guard (200..<300).contains(status) else {
            let error = S3XMLElement.parse(body).flatMap { $0.name == "Error" ? $0 : $0.child("Error") }
            let code = error?.text("Code") ?? "HTTP \(status)"
            let message = SecretRedaction.redact(error?.text("Message") ?? String(decoding: body.prefix(300), as: UTF8.self), secrets: [token])
            throw S3CredentialsError(
                description:
                    "\(what) failed (\(code)): \(message). Check the role's trust policy (it must trust the cluster's OIDC provider for this service account) and AWS_ROLE_ARN"
            )
        }
        guard let root = S3XMLElement.parse(body), let credentials = (root.child("AssumeRoleWithWebIdentityResult") ?? root).child("Credentials"),
            let accessKeyId = credentials.text("AccessKeyId"), let secret = credentials.text("SecretAccessKey"),
            let sessionToken = credentials.text("SessionToken")
        else {
            throw S3CredentialsError(description: "\(what) answered without credentials; check AWS_ENDPOINT_URL_STS")
        }
        let expiration = credentials.text("Expiration").flatMap(CredentialsHTTP.date)
        return TemporaryCredentials(
            credentials: S3Credentials(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: sessionToken), expiration: expiration,
            fetched: now)
    }
}
