import RayBridgeCore

/// A part as CompleteMultipartUpload lists it.
public struct CompletedPart: Sendable, Equatable {
    public var number: Int
    /// As UploadPart answered it, quotes included.
    public var etag: String
    /// Base64 CRC-32 the part was uploaded with; nil for an upload created without checksums.
    public var checksumCRC32: String?

    public init(number: Int, etag: String, checksumCRC32: String? = nil) {
        self.number = number
        self.etag = etag
        self.checksumCRC32 = checksumCRC32
    }
}
