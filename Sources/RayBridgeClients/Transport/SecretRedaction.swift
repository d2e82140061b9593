import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Takes secrets out of text that came from a server (an error body may echo the request's
/// headers, a signature or a key) before it reaches a status file, the log or `/readyz`.
public enum SecretRedaction {
    /// `secrets`: values known to be secret (the Ray token, the S3 keys); each occurrence becomes
    /// `***`. Credentials in well-known shapes are taken out whatever their value.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var text = text
        for secret in secrets where secret.count >= 4 {
            text = text.replacing(secret, with: "***")
        }
        text.replace(/(?i)(bearer\s+)[^\s"',;]+/) { "\($0.1)***" }
        text.replace(/(?i)((?:x-amz-)?(?:signature|security-token|credential)\s*[=:]\s*)[^\s"',;&<]+/) { "\($0.1)***" }
        text.replace(/(?i)(<(?:SignatureProvided|StringToSign|CanonicalRequest|AWSAccessKeyId)>)[^<]*/) { "\($0.1)***" }
        return text
    }
}
