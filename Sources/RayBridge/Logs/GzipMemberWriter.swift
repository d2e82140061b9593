import CSystemZlib
import NIOCore
import RayBridgeCore

/// Deflates a log into gzip members with zlib: bytes go in as they come, `finish` closes the
/// member (header, deflate stream, CRC and size trailer), and the next `write` starts a new one.
/// Concatenated members are one valid gzip stream (RFC 1952 §2.2), so every part of a compressed
/// log is a member of its own and an upload resumed at any part boundary stays valid.
///
/// Not Sendable: it owns zlib's stream state; one shipment's task uses it.
final class GzipMemberWriter {
    private var stream = z_stream()
    /// zlib's default level: 6 compresses logs about as well as 9 at a third of the CPU.
    static let level: Int32 = 6
    private static let chunk = 64 << 10

    init() {
        let status = raybridge_deflate_init_gzip(&stream, Self.level)
        // Fails only without memory; nothing sensible can continue then.
        precondition(status == Z_OK, "zlib deflateInit2 failed (\(status))")
    }

    deinit {
        deflateEnd(&stream)
    }

    /// Compresses `bytes` into `out` (zlib may hold some back until more comes or `finish`).
    func write(_ bytes: ByteBuffer, into out: inout ByteBuffer) {
        bytes.withUnsafeReadableBytes { input in
            run(input, flush: Z_NO_FLUSH, into: &out)
        }
    }

    /// Ends the member in `out`; the writer is then ready for the next one.
    func finish(into out: inout ByteBuffer) {
        run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: &out)
        deflateReset(&stream)
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Int32, into out: inout ByteBuffer) {
        // zlib reads through a mutable pointer type but does not write the input.
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        var status = Z_OK
        repeat {
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.chunk) { space -> Int in
                stream.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(space.count)
                status = deflate(&stream, flush)
                precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR, "zlib deflate failed (\(status))")
                return space.count - Int(stream.avail_out)
            }
            // Without Z_FINISH: until all input is taken and zlib left room (nothing pending);
            // with it: until the member's trailer is written.
        } while flush == Z_FINISH ? status != Z_STREAM_END : (stream.avail_in > 0 || stream.avail_out == 0)
        stream.next_in = nil
    }
}
