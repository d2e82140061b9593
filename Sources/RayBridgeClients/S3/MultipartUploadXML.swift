import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The XML of a multipart upload, in the order of its calls: what CreateMultipartUpload answers,
// the body CompleteMultipartUpload sends and what it answers, and ListParts for a resume.

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

/// Builds the `<CompleteMultipartUpload>` request body.
public enum CompleteMultipartUploadBody {
    /// S3 rejects parts out of order (`InvalidPartOrder`), so they are sorted here rather than trusting
    /// the caller. ETags go back verbatim, quotes included, XML-escaped.
    public static func xml(parts: [CompletedPart]) -> String {
        let sorted = parts.sorted { $0.number < $1.number }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"#
        xml += #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
        for part in sorted {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(escape(part.etag))</ETag>"
            // An upload created with a checksum algorithm wants each part's checksum back.
            if let checksum = part.checksumCRC32 { xml += "<ChecksumCRC32>\(escape(checksum))</ChecksumCRC32>" }
            xml += "</Part>"
        }
        return xml + "</CompleteMultipartUpload>"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

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
                let size = element.text("Size").flatMap({ Int64($0.trimmingSpacesAndTabs()) })
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
