import Foundation

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
