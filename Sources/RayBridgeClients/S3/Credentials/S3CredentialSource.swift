import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The credential source the environment configures, after the Secret files, in the order the
/// AWS SDKs look: the key variables, web identity, the container credentials endpoint.
public enum S3CredentialSource: Sendable, Equatable {
    case environment(S3Credentials)
    case webIdentity(WebIdentityCredentials)
    case containerEndpoint(ContainerCredentials)
    /// A source is named but cannot be used; the text says what to fix.
    case misconfigured(String)

    /// How the log names it (`raybridge_s3_credential_refreshes_total{source}` too).
    public var name: String {
        switch self {
        case .environment: "environment"
        case .webIdentity: "web-identity"
        case .containerEndpoint: "container-endpoint"
        case .misconfigured: "misconfigured"
        }
    }

    /// nil when the environment names no source.
    public static func detect(_ env: [String: String], now: Date = Date()) -> S3CredentialSource? {
        func value(_ name: String) -> String? {
            env[name].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
        }
        if let access = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
            return .environment(S3Credentials(accessKeyId: access, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")))
        }
        if let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = value("AWS_ROLE_ARN") {
            guard let sts = stsEndpoint(env: value) else {
                return .misconfigured("AWS_ENDPOINT_URL_STS is not an http(s) URL")
            }
            let session = value("AWS_ROLE_SESSION_NAME") ?? "raybridge-\(Int(now.timeIntervalSince1970))"
            return .webIdentity(WebIdentityCredentials(tokenFile: tokenFile, roleArn: role, sessionName: session, stsEndpoint: sts))
        }
        let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        if let text = relative.map({ "http://169.254.170.2" + $0 }) ?? value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                return .misconfigured("the container credentials URI \(RedactedURL.redact(text)) is not an http(s) URL")
            }
            // As the AWS SDKs: plain http only to this host or the endpoints AWS runs on the node.
            guard scheme == "https" || relative != nil || isAllowedPlainHost(url.host ?? "") else {
                return .misconfigured(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI \(RedactedURL.redact(text)) uses http to a host that is neither loopback nor 169.254.170.2/169.254.170.23/fd00:ec2::23; use https"
                )
            }
            return .containerEndpoint(
                ContainerCredentials(
                    url: url, tokenFile: value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), token: value("AWS_CONTAINER_AUTHORIZATION_TOKEN")))
        }
        return nil
    }

    /// `AWS_ENDPOINT_URL_STS` (tests, private clouds), else the regional endpoint unless
    /// `AWS_STS_REGIONAL_ENDPOINTS=legacy` or no region is set.
    static func stsEndpoint(env value: (String) -> String?) -> URL? {
        if let text = value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL") {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else { return nil }
            return url
        }
        guard let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION"), value("AWS_STS_REGIONAL_ENDPOINTS") != "legacy" else {
            return URL(string: "https://sts.amazonaws.com/")
        }
        let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return URL(string: "https://sts.\(region).\(domain)/")
    }

    static func isAllowedPlainHost(_ host: String) -> Bool {
        let host = host.lowercased().trimmingScalars { $0 == "[" || $0 == "]" }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "169.254.170.2" || host == "169.254.170.23"
            || host == "fd00:ec2::23"
    }
}
