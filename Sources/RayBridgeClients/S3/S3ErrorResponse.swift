import Foundation
import RayBridgeCore

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
