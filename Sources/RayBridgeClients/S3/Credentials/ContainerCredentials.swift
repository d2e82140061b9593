import AsyncHTTPClient
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The container credentials endpoint (EKS Pod Identity, ECS): a GET with the authorization
/// token (its file re-read on every fetch) answers JSON with temporary credentials.
public struct ContainerCredentials: Sendable, Equatable {
    public var url: URL
    public var tokenFile: String?
    public var token: String?

    public init(url: URL, tokenFile: String?, token: String?) {
        self.url = url
        self.tokenFile = tokenFile
        self.token = token
    }

    /// The answer's fields, as the AWS SDKs read them.
    private struct Answer: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    public func fetch(http: HTTPClient, trust: TrustRoots?, now: Date = Date()) async throws(S3CredentialsError) -> TemporaryCredentials {
        var authorization = token
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw S3CredentialsError(
                    description:
                        "cannot read the container authorization token \(tokenFile) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE): check the pod's token projection"
                )
            }
            authorization = String(decoding: data, as: UTF8.self).trimmingWhitespace()
        }
        let what = "the container credentials endpoint \(RedactedURL.redact(url.absoluteString))"
        let secrets = authorization.map { [$0] } ?? []
        let (status, body) = try await CredentialsHTTP.exchange(
            .GET, url: url, body: nil, headers: authorization.map { [("Authorization", $0)] } ?? [], http: http, trust: trust,
            what: what, secrets: secrets)
        guard (200..<300).contains(status) else {
            let detail = SecretRedaction.redact(String(decoding: body.prefix(300), as: UTF8.self), secrets: secrets)
            throw S3CredentialsError(
                description: "\(what) answered HTTP \(status): \(detail). Check the pod identity association and the authorization token")
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: body) else {
            throw S3CredentialsError(description: "\(what) answered without AccessKeyId and SecretAccessKey")
        }
        return TemporaryCredentials(
            credentials: S3Credentials(accessKeyId: answer.AccessKeyId, secretAccessKey: answer.SecretAccessKey, sessionToken: answer.Token),
            expiration: answer.Expiration.flatMap(CredentialsHTTP.date), fetched: now)
    }
}
