import RayBridgeCore

/// Keys for signing S3 requests.
///
/// Its textual forms (`description`, `debugDescription`, `dump`) hide the secret and the token, so
/// interpolating credentials into a log line or an error cannot leak them.
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
        // The access key ID is not a secret and tells the user which key is in use.
        "S3Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: "
            + (sessionToken == nil ? "none)" : "<redacted>)")
    }

    public var debugDescription: String { description }

    /// Not yet masked: the whole id (the behaviour under test).
    public static func masked(accessKeyId: String) -> String { accessKeyId }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "none" : "<redacted>",
            ])
    }
}
