import RayBridgeCore

/// Percent-encoding the way S3's SigV4 canonical form wants it: only RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) stay literal, everything else becomes `%XX` (uppercase) over UTF-8.
///
/// Build request URLs with these so that the bytes on the wire and the signed canonical request agree.
public enum S3Path {
    /// Encodes an object key for a URL path: `/` stays literal, so `logs/a b.txt` becomes `logs/a%20b.txt`.
    public static func encode(key: String) -> String {
        encode(key.utf8, keepingSlash: true)
    }

    /// Encodes one query parameter name or value (or one path segment): `/` is encoded too.
    public static func encode(component: String) -> String {
        encode(component.utf8, keepingSlash: false)
    }

    static func encode(_ bytes: some Sequence<UInt8>, keepingSlash: Bool, alsoKeeping extra: String = "") -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let kept = Set(extra.utf8)
        var out: [UInt8] = []
        for byte in bytes {
            switch byte {
            case _ where kept.contains(byte):
                out.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Undoes `%XX` escapes into raw bytes; a `%` not followed by two hex digits is kept literally,
    /// so decoding never fails. Bytes rather than a String so invalid UTF-8 survives a round trip.
    static func decode(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
