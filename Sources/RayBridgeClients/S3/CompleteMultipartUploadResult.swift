import Foundation
import RayBridgeCore

/// The answer to CompleteMultipartUpload (`POST /{bucket}/{key}?uploadId=ID`).
public struct CompleteMultipartUploadResult: Sendable, Equatable {
    public var location: String?
    public var bucket: String?
    public var key: String?
    public var etag: String

    public init(location: String?, bucket: String?, key: String?, etag: String) {
        self.location = location
        self.bucket = bucket
        self.key = key
        self.etag = etag
    }

    /// Throws `S3Error.service` for an `<Error>` body even though the HTTP status was 200: S3 reports
    /// failures found while assembling the parts that way.
    public static func parse(_ data: Data) throws(S3Error) -> CompleteMultipartUploadResult {
        let root = try S3XMLElement.parseResult(data, of: "CompleteMultipartUpload")
        guard let etag = root.text("ETag") else {
            throw .malformedResponse("CompleteMultipartUpload response has no ETag")
        }
        return CompleteMultipartUploadResult(
            location: root.text("Location"), bucket: root.text("Bucket"), key: root.text("Key"), etag: etag)
    }
}
