import Foundation
import RayBridgeCore

/// The answer to CreateMultipartUpload (`POST /{bucket}/{key}?uploads`).
public struct InitiateMultipartUploadResult: Sendable, Equatable {
    public var uploadId: String

    public init(uploadId: String) {
        self.uploadId = uploadId
    }

    public static func parse(_ data: Data) throws(S3Error) -> InitiateMultipartUploadResult {
        let root = try S3XMLElement.parseResult(data, of: "CreateMultipartUpload")
        guard let uploadId = root.text("UploadId"), !uploadId.isEmpty else {
            throw .malformedResponse("CreateMultipartUpload response has no UploadId")
        }
        return InitiateMultipartUploadResult(uploadId: uploadId)
    }
}
