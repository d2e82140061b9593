import NIOCore
import RayBridgeCore

/// Ray's log endpoints have no offset parameter: every read replays the log from byte 0. This
/// passes on only the bytes past what was handed on already, across any number of reads.
struct ReplaySkipper: Sendable, Equatable {
    /// The log's offset of the next byte to hand on.
    private(set) var emitted: Int64
    /// Bytes the current read has delivered so far.
    private(set) var read: Int64 = 0

    init(from offset: Int64) {
        emitted = offset
    }

    /// A new read, from byte 0.
    mutating func startPass() {
        read = 0
    }

    /// The new part of `chunk`, nil when all of it was handed on before.
    mutating func take(_ chunk: ByteBuffer) -> ByteBuffer? {
        var chunk = chunk
        let size = Int64(chunk.readableBytes)
        let skip = min(max(emitted - read, 0), size)
        read += size
        chunk.moveReaderIndex(forwardBy: Int(skip))
        guard chunk.readableBytes > 0 else { return nil }
        emitted += Int64(chunk.readableBytes)
        return chunk
    }
}
