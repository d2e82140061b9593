import Foundation
import RayBridgeCore

/// One page of ListMultipartUploads (`GET /{bucket}?uploads&prefix=P`), used to find uploads to resume
/// or abort.
public struct ListMultipartUploadsResult: Sendable, Equatable {
    public struct Upload: Sendable, Equatable {
        public var key: String
        public var uploadId: String

        public init(key: String, uploadId: String) {
            self.key = key
            self.uploadId = uploadId
        }
    }

    public var uploads: [Upload]
    public var isTruncated: Bool
    /// Pass as `key-marker` and `upload-id-marker` to fetch the next page.
    public var nextKeyMarker: String?
    public var nextUploadIdMarker: String?

    public init(uploads: [Upload], isTruncated: Bool, nextKeyMarker: String?, nextUploadIdMarker: String?) {
        self.uploads = uploads
        self.isTruncated = isTruncated
        self.nextKeyMarker = nextKeyMarker
        self.nextUploadIdMarker = nextUploadIdMarker
    }

    public static func parse(_ data: Data) throws(S3Error) -> ListMultipartUploadsResult {
        let root = try S3XMLElement.parseResult(data, of: "ListMultipartUploads")
        var uploads: [Upload] = []
        for element in root.children("Upload") {
            guard let key = element.text("Key"), let uploadId = element.text("UploadId") else {
                throw .malformedResponse("ListMultipartUploads response has an Upload without Key or UploadId")
            }
            uploads.append(Upload(key: key, uploadId: uploadId))
        }
        // S3 sends empty marker elements on the last page; an empty marker is no marker.
        return ListMultipartUploadsResult(
            uploads: uploads, isTruncated: root.bool("IsTruncated"),
            nextKeyMarker: root.text("NextKeyMarker").flatMap { $0.isEmpty ? nil : $0 },
            nextUploadIdMarker: root.text("NextUploadIdMarker").flatMap { $0.isEmpty ? nil : $0 })
    }
}
