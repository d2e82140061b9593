import Foundation

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
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
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

/// A problem text before it is attached to a key.
public struct ConfigProblemText: Error, Sendable, Equatable {
    public var text: String
    public init(_ text: String) { self.text = text }
}
