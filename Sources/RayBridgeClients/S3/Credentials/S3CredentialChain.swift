import AsyncHTTPClient
import Logging
import RayBridgeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// S3 credentials from the first source that has them, as the AWS SDKs look: the Secret files
/// (`--s3-credentials-dir`, read on every request so a rotated Secret is used at once), then the
/// source the environment names (`S3CredentialSource`). Which one is in use is logged once, and
/// again when it changes (a Secret mounted or removed); never a secret.
public final class S3CredentialChain: S3CredentialProvider {
    private enum Fallback: Sendable {
        case fixed(S3Credentials)
        case refreshing(RefreshingCredentials)
        case unusable(String)
    }

    public let secretFiles: S3CredentialsFile
    /// The last refresh failure of temporary credentials, for the status.
    public let health: S3CredentialHealth
    private let fallback: (name: String, provider: Fallback)?
    private let logger: Logger
    private let announced = Mutex<String?>(nil)

    public init(secretFiles: S3CredentialsFile, environment: [String: String], http: HTTPClient, trust: TrustRoots?, logger: Logger) {
        self.secretFiles = secretFiles
        self.logger = logger
        let health = S3CredentialHealth()
        self.health = health
        let source = S3CredentialSource.detect(environment)
        detail = Self.detail(source)
        switch source {
        case nil:
            fallback = nil
        case .environment(let credentials)?:
            fallback = ("environment", .fixed(credentials))
        case .webIdentity(let web)?:
            fallback = (
                "web-identity",
                .refreshing(
                    RefreshingCredentials(source: "web-identity", health: health, logger: logger) { () async throws(S3CredentialsError) in
                        try await web.fetch(http: http, trust: trust)
                    })
            )
        case .containerEndpoint(let container)?:
            fallback = (
                "container-endpoint",
                .refreshing(
                    RefreshingCredentials(source: "container-endpoint", health: health, logger: logger) { () async throws(S3CredentialsError) in
                        try await container.fetch(http: http, trust: trust)
                    })
            )
        case .misconfigured(let problem)?:
            fallback = ("misconfigured", .unusable(problem))
        }
    }

    /// What the start log says about the source besides its name: never a secret.
    private let detail: Logger.Metadata

    private static func detail(_ source: S3CredentialSource?) -> Logger.Metadata {
        switch source {
        case .environment(let credentials)?:
            [
                "accessKeyId": "\(S3Credentials.masked(accessKeyId: credentials.accessKeyId))",
                "sessionToken": "\(credentials.sessionToken == nil ? "no" : "yes")",
            ]
        case .webIdentity(let web)?:
            ["roleArn": "\(web.roleArn)", "sts": "\(web.stsEndpoint.absoluteString)", "tokenFile": "\(web.tokenFile)"]
        case .containerEndpoint(let container)?:
            ["endpoint": "\(RedactedURL.redact(container.url.absoluteString))", "tokenFile": "\(container.tokenFile ?? "-")"]
        default:
            [:]
        }
    }

    /// Logs the source that would be used now (at start, before any S3 request); nothing when
    /// there is none: the first S3 request says what is missing.
    public func announceSource() {
        if let files = try? secretFiles.load() {
            announce(
                "secret-files", ["directory": "\(secretFiles.directory)", "accessKeyId": "\(S3Credentials.masked(accessKeyId: files.accessKeyId))"])
        } else if let (name, _) = fallback {
            announce(name, detail)
        }
    }

    public func credentials() async throws(S3CredentialsError) -> S3Credentials {
        if let files = try? secretFiles.load() {
            announce(
                "secret-files", ["directory": "\(secretFiles.directory)", "accessKeyId": "\(S3Credentials.masked(accessKeyId: files.accessKeyId))"])
            return files
        }
        guard let (name, provider) = fallback else {
            throw S3CredentialsError(
                description:
                    "no S3 credentials: none in \(secretFiles.directory) (files accesskey and secretkey), and neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, nor AWS_CONTAINER_CREDENTIALS_FULL_URI/_RELATIVE_URI is set"
            )
        }
        switch provider {
        case .fixed(let credentials):
            announce(name, detail)
            return credentials
        case .refreshing(let refreshing):
            announce(name, detail)
            return try await refreshing.credentials()
        case .unusable(let problem):
            throw S3CredentialsError(description: "the S3 credential source in the environment cannot be used: \(problem)")
        }
    }

    private func announce(_ source: String, _ metadata: Logger.Metadata) {
        let changed = announced.withLock { last in
            defer { last = source }
            return last != source
        }
        guard changed else { return }
        var metadata = metadata
        metadata["source"] = "\(source)"
        logger.info("S3 credential source", metadata: metadata)
    }
}
