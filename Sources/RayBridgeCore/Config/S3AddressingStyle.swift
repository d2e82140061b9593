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
