import NIOCore
import RayBridgeCore

/// The S3 calls that shipping a log needs: what `MultipartUploadSession` depends on, so that it can
/// be tested against a fake S3. Each call is made once: retrying is the caller's decision.
public protocol S3Multipart: Sendable {
    func putObject(bucket: String, key: String, body: ByteBuffer, contentType: String) async throws(S3Error)
    /// Returns the upload id. `checksummed`: every part carries a CRC-32.
    func createMultipartUpload(bucket: String, key: String, contentType: String, checksummed: Bool) async throws(S3Error) -> String
    /// Returns the part's ETag, quotes included, as Complete wants it back.
    func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: ByteBuffer, checksumCRC32: String?
    ) async throws(S3Error) -> String
    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) async throws(S3Error)
    /// Every part of an upload, following the pages.
    func listParts(bucket: String, key: String, uploadId: String) async throws(S3Error) -> [ListPartsResult.Part]
}

extension S3Client: S3Multipart {}
