import NIOCore
import RayBridgeCore

/// Reads a log body of Ray 2.9 to 2.44's file endpoint: the dashboard writes each 64 KiB block of
/// the file (the agent reads the file in `BLOCK_SIZE = 1 << 16` pieces, the last one shorter) after
/// a status byte, `1`; an error is `0` and a text, instead of a block. The status bytes sit at fixed
/// places of the body, so they are found whatever a proxy did to the HTTP chunks.
struct MarkedBlockDecoder {
    static let blockSize = 1 << 16

    /// Log bytes left in the current block; 0: the next byte is a status byte.
    private var remaining = 0
    /// Set once a `0` status byte was read: the rest of the body is the error's text.
    private var errorText: [UInt8]?

    /// The log bytes of the next piece of the body, status bytes taken out.
    mutating func decode(_ piece: ByteBuffer) throws(RayClientError) -> ByteBuffer {
        var piece = piece
        var out = ByteBuffer()
        out.reserveCapacity(piece.readableBytes)
        while piece.readableBytes > 0 {
            if errorText != nil {
                errorText! += piece.readBytes(length: min(piece.readableBytes, 4096 - errorText!.count)) ?? []
                piece.moveReaderIndex(to: piece.writerIndex)
            } else if remaining == 0 {
                switch piece.readInteger(as: UInt8.self) {
                case UInt8(ascii: "1"): remaining = Self.blockSize
                case UInt8(ascii: "0"): errorText = []
                case let other:
                    throw .server(
                        status: 200,
                        body:
                            "the driver log's body is not framed as this Ray release frames it (byte \(other.map(String.init) ?? "-") where a status byte belongs); the log is not shipped rather than shipped wrong"
                    )
                }
            } else {
                let take = min(remaining, piece.readableBytes)
                var slice = piece.readSlice(length: take)!
                out.writeBuffer(&slice)
                remaining -= take
            }
        }
        return out
    }

    /// At the end of the body: an error that Ray wrote into it is thrown now.
    func finish() throws(RayClientError) {
        if let errorText {
            throw .server(status: 200, body: "Ray failed while sending the driver log: \(String(decoding: errorText, as: UTF8.self))")
        }
    }
}
