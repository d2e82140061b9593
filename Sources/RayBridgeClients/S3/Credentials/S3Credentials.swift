import RayBridgeCore

/// Keys for signing S3 requests.
///
/// Its textual forms (`description`, `debugDescription`, `dump`) hide the secret and the token, and
/// show of the access key id only what `aws configure list` shows, so interpolating credentials into
/// a log line or an error cannot leak them.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "S3Credentials(accessKeyId: \(Self.masked(accessKeyId: accessKeyId)), secretAccessKey: <redacted>, sessionToken: "
            + (sessionToken == nil ? "none)" : "<redacted>)")
    }

    public var debugDescription: String { description }

    /// The access key id as `aws configure list` shows it, `****************ABCD`: enough to tell
    /// which key is in use, not enough to look it up. It is not a secret, but with the secret key it
    /// is the whole credential, and it names the account to anyone who has the log. An id shorter
    /// than 8 characters (a test server's `minio`) shows none of it: four would be most of it.
    public static func masked(accessKeyId: String) -> String {
        String(repeating: "*", count: 16) + (accessKeyId.count >= 8 ? String(accessKeyId.suffix(4)) : "")
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": Self.masked(accessKeyId: accessKeyId),
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "none" : "<redacted>",
            ])
    }
}

/// Where an S3 request gets the keys it is signed with: asked before every request, so a
/// provider can hand out refreshed temporary credentials in the middle of a long log stream.
public protocol S3CredentialProvider: Sendable {
    func credentials() async throws(S3CredentialsError) -> S3Credentials
}

/// Why no credentials could be had, in words that say what to fix (which file, variable or endpoint).
public struct S3CredentialsError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
