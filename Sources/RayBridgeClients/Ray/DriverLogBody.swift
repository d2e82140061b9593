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

    init(body: HTTPClientResponse.Body, decoder: MarkedBlockDecoder?) {
        self.body = body
        self.decoder = decoder
        self.whole = nil
    }

    init(whole: ByteBuffer) {
        self.body = nil
        self.decoder = nil
        self.whole = whole
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(body: body?.makeAsyncIterator(), decoder: decoder, whole: whole)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var body: HTTPClientResponse.Body.AsyncIterator?
        var decoder: MarkedBlockDecoder?
        var whole: ByteBuffer?

        public mutating func next() async throws -> ByteBuffer? {
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
