import AsyncHTTPClient
import NIOCore
import RayBridgeCore

/// The bytes of a driver log as Ray sends them, with the status bytes of older releases taken out
/// (`MarkedBlockDecoder`). Read with backpressure: AsyncHTTPClient reads from the socket only as
/// the body is consumed.
public struct DriverLogBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let body: HTTPClientResponse.Body?
    /// Nil: the body is the log's bytes as they are.
    let decoder: MarkedBlockDecoder?
    /// The whole log at once, read from the job API instead of the state API.
    let whole: ByteBuffer?
    /// Bytes from elsewhere (a fake cluster in tests).
    let chunks: AsyncThrowingStream<ByteBuffer, any Error>?

    init(body: HTTPClientResponse.Body, decoder: MarkedBlockDecoder?) {
        self.body = body
        self.decoder = decoder
        self.whole = nil
        self.chunks = nil
    }

    init(whole: ByteBuffer) {
        self.body = nil
        self.decoder = nil
        self.whole = whole
        self.chunks = nil
    }

    /// A body whose bytes are `chunks`, already decoded.
    public init(chunks: AsyncThrowingStream<ByteBuffer, any Error>) {
        self.body = nil
        self.decoder = nil
        self.whole = nil
        self.chunks = chunks
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(body: body?.makeAsyncIterator(), decoder: decoder, whole: whole, chunks: chunks?.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var body: HTTPClientResponse.Body.AsyncIterator?
        var decoder: MarkedBlockDecoder?
        var whole: ByteBuffer?
        var chunks: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?

        public mutating func next() async throws -> ByteBuffer? {
            if chunks != nil { return try await chunks!.next() }
            guard body != nil else {
                defer { whole = nil }
                return whole
            }
            while let piece = try await body!.next() {
                guard decoder != nil else { return piece }
                let bytes = try decoder!.decode(piece)
                if bytes.readableBytes > 0 { return bytes }
            }
            try decoder?.finish()
            return nil
        }
    }
}
