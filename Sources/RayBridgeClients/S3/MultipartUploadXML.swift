import Foundation
import RayBridgeCore

/// One page of ListParts (`GET /{bucket}/{key}?uploadId=ID`), used to resume an upload.
public struct ListPartsResult: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        public var number: Int
        /// As S3 sends it, quotes included; Complete wants it back verbatim.
        public var etag: String
        public var size: Int64
        /// Of an upload created with CRC-32 checksums (AWS lists them; moto does not).
        public var checksumCRC32: String?

        public init(number: Int, etag: String, size: Int64, checksumCRC32: String? = nil) {
            self.number = number
            self.etag = etag
            self.size = size
            self.checksumCRC32 = checksumCRC32
        }
    }

    public var parts: [Part]
    public var isTruncated: Bool
    /// Pass as `part-number-marker` to fetch the next page.
    public var nextPartNumberMarker: Int?

    public init(parts: [Part], isTruncated: Bool, nextPartNumberMarker: Int?) {
        self.parts = parts
        self.isTruncated = isTruncated
        self.nextPartNumberMarker = nextPartNumberMarker
    }

    public static func parse(_ data: Data) throws(S3Error) -> ListPartsResult {
        let root = try S3XMLElement.parseResult(data, of: "ListParts")
        var parts: [Part] = []
        for element in root.children("Part") {
            guard let number = element.int("PartNumber"), let etag = element.text("ETag"),
                let size = element.text("Size").flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) })
            else {
                throw .malformedResponse("ListParts response has a Part without PartNumber, ETag or Size")
            }
            parts.append(Part(number: number, etag: etag, size: size, checksumCRC32: element.text("ChecksumCRC32")))
        }
        return ListPartsResult(
            parts: parts, isTruncated: root.bool("IsTruncated"),
            nextPartNumberMarker: root.int("NextPartNumberMarker"))
    }
}
