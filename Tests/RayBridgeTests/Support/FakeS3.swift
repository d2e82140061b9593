import NIOCore

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// An S3 bucket in memory with multipart uploads. Failures are queued per call name
/// ("put", "create", "upload", "complete", "list") and thrown in order.
actor FakeS3: S3Multipart {
    private(set) var objects: [String: ByteBuffer] = [:]
    private(set) var uploads: [String: [Int: (etag: String, body: ByteBuffer)]] = [:]
    private(set) var calls: [String] = []
    private var failures: [String: [S3Error]] = [:]
    private var nextId = 0

    static func error(_ code: String, status: Int = 404) -> S3Error {
        .service(status: status, response: S3ErrorResponse(code: code), bucket: "b", key: "k")
    }

    func fail(_ call: String, with errors: [S3Error]) {
        failures[call, default: []] += errors
    }

    /// The upload disappears, as an abort or a lifecycle rule makes it.
    func vanish(_ uploadId: String) {
        uploads[uploadId] = nil
    }

    var openUploads: [String] { Array(uploads.keys) }

    private func record(_ call: String) throws(S3Error) {
        calls.append(call)
        if let error = failures[call]?.first {
            failures[call]!.removeFirst()
            throw error
        }
    }

    func putObject(bucket: String, key: String, body: ByteBuffer, contentType: String) async throws(S3Error) {
        try record("put")
        objects[key] = body
    }

    func createMultipartUpload(bucket: String, key: String, contentType: String, checksummed: Bool) async throws(S3Error) -> String {
        try record("create")
        nextId += 1
        uploads["upload-\(nextId)"] = [:]
        return "upload-\(nextId)"
    }

    func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: ByteBuffer, checksumCRC32: String?
    ) async throws(S3Error) -> String {
        try record("upload")
        guard uploads[uploadId] != nil else { throw Self.error("NoSuchUpload") }
        // S3 refuses a part whose CRC-32 does not match (BadDigest).
        guard checksumCRC32 == nil || checksumCRC32 == S3Checksum.crc32(body) else { throw Self.error("BadDigest", status: 400) }
        let etag = "\"etag-\(uploadId)-\(partNumber)\""
        uploads[uploadId]![partNumber] = (etag, body)
        return etag
    }

    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) async throws(S3Error) {
        try record("complete")
        guard let uploaded = uploads[uploadId] else { throw Self.error("NoSuchUpload") }
        var object = ByteBuffer()
        for part in parts {
            guard var body = uploaded[part.number]?.body, uploaded[part.number]?.etag == part.etag else {
                throw Self.error("InvalidPart", status: 400)
            }
            object.writeBuffer(&body)
        }
        objects[key] = object
        uploads[uploadId] = nil
    }

    func listParts(bucket: String, key: String, uploadId: String) async throws(S3Error) -> [ListPartsResult.Part] {
        try record("list")
        guard let uploaded = uploads[uploadId] else { throw Self.error("NoSuchUpload") }
        return uploaded.sorted { $0.key < $1.key }.map { .init(number: $0.key, etag: $0.value.etag, size: Int64($0.value.body.readableBytes)) }
    }
}
