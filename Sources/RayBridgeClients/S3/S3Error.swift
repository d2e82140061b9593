import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A failed S3 call, described so that the user can tell what to fix.
///
/// Descriptions never contain credential values: the error body's AWSAccessKeyId, StringToSign and
/// CanonicalRequest elements are never parsed.
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// S3 answered with an error status, or with HTTP 200 and an `<Error>` body. `response` is nil
    /// when the body was not S3 error XML (HEAD responses have no body; proxies send HTML).
    /// `bucket` and `key` are the request's, used when the body does not name them.
    case service(status: Int, response: S3ErrorResponse?, bucket: String?, key: String?)
    /// A success response whose body was not what the operation returns.
    case malformedResponse(String)
    /// No HTTP answer: connection refused, DNS, TLS, timeout.
    case unreachable(endpoint: String, reason: String)
    /// The credentials Secret could not be read; the text says where it was looked for.
    case credentials(String)

    public var code: String? {
        guard case .service(_, let response?, _, _) = self, !response.code.isEmpty else { return nil }
        return response.code
    }

    /// Whether sending the same request again may succeed: throttling and server-side failures.
    public var isRetryable: Bool {
        if case .unreachable = self { return true }
        guard case .service(let status, _, _, _) = self else { return false }
        if let code, Self.retryableCodes.contains(code) { return true }
        return status == 429 || (status >= 500 && status != 501)
    }

    private static let retryableCodes: Set<String> = [
        "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
        "ThrottlingException", "TooManyRequests",
    ]

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason):
            return "S3 at \(endpoint) is unreachable (\(reason)); check s3.endpoint and s3.secure."
        case .credentials(let detail):
            return detail
        case .malformedResponse(let detail):
            return "S3 returned an unexpected response: \(detail). Check that the endpoint is an S3 service."
        case .service(let status, let response, let requestBucket, let requestKey):
            let bucket = Self.quoted(response?.bucketName ?? requestBucket)
            let key = Self.quoted(response?.key ?? requestKey)
            let detail = Self.advice(status: status, code: code, bucket: bucket, key: key, response: response)
            var text = "S3 request failed (HTTP \(status)"
            if let code { text += ", \(code)" }
            text += "): \(detail)"
            if let requestId = response?.requestId { text += " [request id \(requestId)]" }
            return text
        }
    }

    private static func quoted(_ name: String?) -> String {
        name.map { "\"\($0)\"" } ?? "(unknown)"
    }

    private static func advice(
        status: Int, code: String?, bucket: String, key: String, response: S3ErrorResponse?
    ) -> String {
        let credentialsHint =
            "check the S3 credentials Secret (files accesskey and secretkey; a trailing newline or "
            + "space in a file is a common cause) and the configured region"
        if let region = response?.region, !region.isEmpty,
            ["PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "TemporaryRedirect"].contains(code ?? "")
                || status == 301
        {
            return "bucket \(bucket) is in region \(region), not in the one the request was signed for; set s3.region: \"\(region)\"."
        }
        switch code {
        case "NoSuchBucket":
            return "bucket \(bucket) does not exist; check the bucket name, endpoint and region."
        case "PermanentRedirect", "AuthorizationHeaderMalformed":
            return "bucket \(bucket) is not in the region the request was signed for (\(response?.message ?? "no region given")); "
                + "check s3.region and s3.endpoint."
        case "NoSuchKey":
            return "object \(key) does not exist in bucket \(bucket)."
        case "AccessDenied":
            return "access to bucket \(bucket) was denied; \(credentialsHint), and that the key's "
                + "policy allows s3:PutObject (PutObject and the multipart upload calls), s3:GetObject (scripts "
                + "and parameters in S3) and s3:ListMultipartUploadParts (resuming an upload) on it."
        case "InvalidAccessKeyId":
            return "S3 does not know the access key ID; \(credentialsHint)."
        case "SignatureDoesNotMatch":
            return "S3 computed a different request signature; \(credentialsHint)."
        case "NoSuchUpload":
            let upload = response?.uploadId.map { " \($0)" } ?? ""
            return "multipart upload\(upload) for \(key) in bucket \(bucket) no longer exists "
                + "(completed, aborted or expired by a lifecycle rule); a new upload will be needed."
        case "EntityTooSmall":
            return "a part other than the last is smaller than S3's 5 MiB minimum; raise the part size."
        case "InvalidPart", "InvalidPartOrder":
            return "the part list sent to complete the upload does not match the uploaded parts."
        case "RequestTimeTooSkewed":
            return "this machine's clock differs from S3's by more than 15 minutes; fix the node's time sync."
        case "SlowDown":
            return "S3 is throttling requests to bucket \(bucket); the request can be retried after a backoff."
        default:
            break
        }
        if status >= 500 || (code.map(retryableCodes.contains) ?? false) {
            return "S3 had a temporary failure; the request can be retried."
        }
        if status == 404 {
            return "object \(key) or bucket \(bucket) was not found."
        }
        if status == 403 {
            return "access denied; \(credentialsHint)."
        }
        return response?.message ?? "unexpected HTTP status."
    }
}

/// The `<Error>` body S3 sends with a failed request (and sometimes with HTTP 200 on Complete).
public struct S3ErrorResponse: Sendable, Equatable {
    public var code: String
    public var message: String?
    public var bucketName: String?
    public var key: String?
    public var uploadId: String?
    public var requestId: String?
    /// The bucket's region, when the request went to the wrong one (`<Region>` of
    /// AuthorizationHeaderMalformed, or the `x-amz-bucket-region` header).
    public var region: String?

    public init(
        code: String, message: String? = nil, bucketName: String? = nil, key: String? = nil,
        uploadId: String? = nil, requestId: String? = nil, region: String? = nil
    ) {
        self.region = region
        self.code = code
        self.message = message
        self.bucketName = bucketName
        self.key = key
        self.uploadId = uploadId
        self.requestId = requestId
    }

    /// Returns nil unless `data` is XML with an `<Error>` root; error bodies from proxies or load
    /// balancers (HTML, empty) are common and carry no S3 code.
    public static func parse(_ data: Data) -> S3ErrorResponse? {
        guard let root = S3XMLElement.parse(data), root.name == "Error" else { return nil }
        return S3ErrorResponse(root)
    }

    // Deliberately skips the AWSAccessKeyId, StringToSign and CanonicalRequest elements that
    // signature errors carry: they must not end up in logs.
    init(_ element: S3XMLElement) {
        self.init(
            code: element.text("Code") ?? "",
            message: element.text("Message"),
            bucketName: element.text("BucketName"),
            key: element.text("Key"),
            uploadId: element.text("UploadId"),
            requestId: element.text("RequestId"))
        region = element.text("Region")
    }
}
