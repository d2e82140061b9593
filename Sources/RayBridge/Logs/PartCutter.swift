import NIOCore
import RayBridgeClients
import RayBridgeCore

/// Cuts a log's bytes into the parts of a multipart upload, with no I/O: each part as big as
/// `partSize(part number)` says, the last one whatever is left. One part uploads while the next
/// fills; the uploaded part's buffer is handed back (`cut(reusing:)`) and fills on, so that a long
/// log does not fault in a fresh mapping for every part.
struct PartCutter {
    struct Part {
        var number: Int
        /// The part's bytes: a slice of `storage`.
        var bytes: ByteBuffer
        /// The buffer the part was filled in, to hand back to `cut(reusing:)` once uploaded.
        var storage: ByteBuffer
    }

    /// NIO reads at most 64 KiB at a time: room for the chunks that overshoot a part, so a buffer
    /// never grows by doubling.
    static let overshoot = 256 << 10

    let partSize: @Sendable (Int) -> Int
    /// The number of the next part to cut.
    private(set) var nextPart: Int
    /// Bytes taken and not cut yet.
    private(set) var pending: ByteBuffer

    init(nextPart: Int, partSize: @escaping @Sendable (Int) -> Int) {
        self.partSize = partSize
        self.nextPart = nextPart
        pending = Self.buffer(for: partSize(nextPart))
    }

    mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        pending.writeBuffer(&bytes)
    }

    var hasFullPart: Bool {
        pending.readableBytes >= partSize(nextPart)
    }

    /// The next full part, nil when there is none yet. `spare` (an uploaded part's storage, or
    /// nil) is taken: it receives the bytes past the part and becomes the buffer that fills on.
    mutating func cut(reusing spare: inout ByteBuffer?) -> Part? {
        guard hasFullPart else { return nil }
        let number = nextPart
        let bytes = pending.readSlice(length: partSize(number))!
        nextPart += 1
        var next: ByteBuffer
        if var reused = spare {
            // Emptied in place when no other copy refers to its storage: the caller's is let go.
            spare = nil
            reused.clear(minimumCapacity: partSize(nextPart) + Self.overshoot)
            next = reused
        } else {
            next = Self.buffer(for: partSize(nextPart))
        }
        next.writeBuffer(&pending)
        let storage = pending
        pending = next
        return Part(number: number, bytes: bytes, storage: storage)
    }

    /// What is left after the last full part: the last part, or the whole log when it was short.
    mutating func takeRest() -> ByteBuffer {
        defer { pending = ByteBuffer() }
        return pending
    }

    static func buffer(for partSize: Int) -> ByteBuffer {
        ByteBufferAllocator().buffer(capacity: partSize + overshoot)
    }
}
