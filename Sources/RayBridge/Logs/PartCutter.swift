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
        /// Bytes of the log in it (more than `bytes` when compressed).
        var logBytes: Int
        /// The buffer the part was filled in, to hand back to `cut(reusing:)` once uploaded.
        var storage: ByteBuffer
    }

    /// NIO reads at most 64 KiB at a time: room for the chunks that overshoot a part, so a buffer
    /// never grows by doubling.
    static let overshoot = 256 << 10

    let partSize: @Sendable (Int) -> Int
    /// The number of the next part to cut.
    private(set) var nextPart: Int
    /// Bytes taken and not cut yet (compressed, with gzip).
    private(set) var pending: ByteBuffer
    /// Bytes of the log in `pending`.
    private(set) var pendingLogBytes = 0
    /// With `s3upload.compression: gzip`: each part is one gzip member, cut by compressed size
    /// (S3's 5 MiB minimum is about the stored bytes).
    private let gzip: GzipMemberWriter?

    init(nextPart: Int, partSize: @escaping @Sendable (Int) -> Int, compression: LogCompression = .none) {
        self.partSize = partSize
        self.nextPart = nextPart
        gzip = compression == .gzip ? GzipMemberWriter() : nil
        pending = Self.buffer(for: partSize(nextPart))
    }

    mutating func append(_ bytes: ByteBuffer) {
        pendingLogBytes += bytes.readableBytes
        if let gzip {
            gzip.write(bytes, into: &pending)
            return
        }
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
        if let gzip {
            // The member ends with the part: the whole of `pending` goes, nothing carries over.
            gzip.finish(into: &pending)
        }
        let logBytes = gzip == nil ? partSize(number) : pendingLogBytes
        pendingLogBytes -= logBytes
        let bytes = gzip == nil ? pending.readSlice(length: partSize(number))! : pending.readSlice(length: pending.readableBytes)!
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
        return Part(number: number, bytes: bytes, logBytes: logBytes, storage: storage)
    }

    /// What is left after the last full part: the last part, or the whole log when it was short
    /// (with gzip a member of its own, also when empty: the object must stay a gzip stream).
    mutating func takeRest() -> (bytes: ByteBuffer, logBytes: Int) {
        gzip?.finish(into: &pending)
        defer {
            pending = ByteBuffer()
            pendingLogBytes = 0
        }
        return (pending, pendingLogBytes)
    }

    static func buffer(for partSize: Int) -> ByteBuffer {
        ByteBufferAllocator().buffer(capacity: partSize + overshoot)
    }
}
