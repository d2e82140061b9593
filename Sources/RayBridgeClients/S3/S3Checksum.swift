import CSystemZlib
import NIOCore
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The integrity checksum sent with every body S3 stores: `x-amz-checksum-crc32`, base64 of the
/// big-endian CRC-32 (zlib's, the same polynomial as S3's). S3 refuses a body that does not match
/// (`BadDigest`), which lets the payload go unsigned over TLS (`UNSIGNED-PAYLOAD`) like the AWS
/// SDKs do: a CRC-32 costs a fraction of the SHA-256 the signed payload needs.
public enum S3Checksum {
    public static let header = "x-amz-checksum-crc32"
    /// `x-amz-checksum-algorithm` of CreateMultipartUpload: every part must then carry one.
    public static let algorithm = "CRC32"

    public static func crc32(_ buffer: ByteBuffer) -> String {
        let value = buffer.withUnsafeReadableBytes { bytes -> UInt32 in
            var crc = CSystemZlib.crc32(0, nil, 0)
            var rest = UnsafeRawBufferPointer(bytes)
            // zlib takes a 32-bit length: big parts go in slices.
            while !rest.isEmpty {
                let count = min(rest.count, 1 << 30)
                crc = CSystemZlib.crc32(crc, rest.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(count))
                rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            }
            return UInt32(crc)
        }
        let bytes = [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        return Data(bytes).base64EncodedString()
    }
}
