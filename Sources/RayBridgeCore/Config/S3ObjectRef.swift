#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `bucket:key`, the ray pod's way of naming an object in a ConfigMap value.
public struct S3ObjectRef: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `bucket:key`; the message says what is wrong, for a problem naming the key.
    public static func parse(_ text: String) -> Result<S3ObjectRef, ConfigProblemText> {
        let trimmed = text.trimmingWhitespace()
        guard let colon = trimmed.firstIndex(of: ":") else {
            return .failure(.init("must be bucket:key, found no ':' in \"\(trimmed.prefix(80))\""))
        }
        let bucket = String(trimmed[..<colon])
        let key = String(trimmed[trimmed.index(after: colon)...])
        if let problem = S3BucketName.problem(bucket) {
            return .failure(.init("bucket \"\(bucket)\" \(problem)"))
        }
        if key.isEmpty {
            return .failure(.init("the object key after ':' is empty"))
        }
        if key.utf8.count > 1024 {
            return .failure(.init("the object key is longer than S3's 1024 bytes"))
        }
        return .success(S3ObjectRef(bucket: bucket, key: key))
    }

    public var description: String { "s3://\(bucket)/\(key)" }
}

/// S3's bucket naming rules, checked up front so a typo is reported as INVALID with the key
/// rather than as an opaque error from the server later.
public enum S3BucketName {
    /// nil when valid, else what is wrong.
    public static func problem(_ name: String) -> String? {
        if name.count < 3 || name.count > 63 { return "must be 3 to 63 characters long" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        if !name.allSatisfy({ allowed.contains($0) }) {
            return "may only contain lowercase letters, digits, '.' and '-'"
        }
        guard let first = name.first, let last = name.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return "must start and end with a letter or digit" }
        if name.contains("..") { return "must not contain '..'" }
        return nil
    }
}
