import RayBridgeCore

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
