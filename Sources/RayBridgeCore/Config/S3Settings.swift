#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the sidecar (log stream, S3 scripts) and the app (`s3_*` kwargs) find S3.
public struct S3Settings: Sendable, Equatable {
    /// Base URL, scheme from `s3.secure` unless the endpoint names one.
    public var endpoint: URL
    public var secure: Bool
    public var region: String
    /// `s3upload.bucket`: the log destination, passed to the app as `s3_bucket`.
    public var bucket: String
    /// `s3upload.prefix`, passed to the app as `s3_prefix`.
    public var prefix: String
    /// `s3.secret`: the Secret's name, passed to the app as `s3_secret`.
    public var secretName: String
    /// `s3.addressingStyle`.
    public var addressingStyle: S3AddressingStyle = .auto
    /// `s3upload.compression`.
    public var compression: LogCompression = .none

    /// The object key of a submission's streamed driver log.
    public func logKey(submissionId: String) -> String {
        "\(prefix)logs/\(submissionId).log" + (compression == .gzip ? ".gz" : "")
    }
}

/// `s3.addressingStyle`: how a bucket is named in a request, as the AWS SDKs choose it.
public enum S3AddressingStyle: String, Sendable, Equatable, CaseIterable {
    /// Virtual-hosted for AWS endpoints (`*.amazonaws.com`), path style for any other.
    case auto
    /// `https://host/bucket/key`: MinIO, Ceph and most in-cluster S3s.
    case path
    /// `https://bucket.host/key`: AWS (path style is being retired there), and S3s that want it.
    case virtual

    /// Whether a request for `bucket` at `host` names the bucket in the host name.
    public func virtualHosted(bucket: String, host: String, secure: Bool) -> Bool {
        switch self {
        case .path: return false
        case .virtual: return true
        case .auto:
            let host = host.lowercased()
            // A dotted bucket name does not match the endpoint's wildcard certificate over TLS:
            // the SDKs fall back to path style for it.
            return (host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")) && !(secure && bucket.contains("."))
        }
    }
}

/// `s3upload.compression`: how the streamed log is stored.
public enum LogCompression: String, Sendable, Equatable, CaseIterable {
    /// `<id>.log`, the bytes as Ray has them.
    case none
    /// `<id>.log.gz`: each part one gzip member, so the object (members concatenated) is one valid
    /// gzip stream after any part, and an upload resumed after a crash stays valid.
    case gzip
}
