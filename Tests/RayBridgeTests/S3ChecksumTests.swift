import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The CRC-32 S3 checks (`x-amz-checksum-crc32`): base64 of the big-endian value.
@Suite struct S3ChecksumTests {
    @Test func knownValues() {
        // The CRC-32 check value of "123456789" is 0xCBF43926; "hello world" as botocore sends it.
        #expect(S3Checksum.crc32(ByteBuffer(string: "123456789")) == "y/Q5Jg==")
        #expect(S3Checksum.crc32(ByteBuffer(string: "hello world")) == "DUoRhQ==")
        #expect(S3Checksum.crc32(ByteBuffer()) == "AAAAAA==")
    }

    @Test func aReadSliceIsChecksummedNotItsStorage() {
        var buffer = ByteBuffer(string: "xx123456789yy")
        buffer.moveReaderIndex(forwardBy: 2)
        let slice = buffer.readSlice(length: 9)!
        #expect(S3Checksum.crc32(slice) == "y/Q5Jg==")
    }
}
