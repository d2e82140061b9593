import AsyncHTTPClient
import NIOCore

/// The bytes of a driver log as Ray sends them, with the status bytes of older releases taken out
/// (`MarkedBlockDecoder`). Read with backpressure: AsyncHTTPClient reads from the socket only as
/// the body is consumed.
public struct DriverLogBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let body: HTTPClientResponse.Body
    /// Nil: the body is the log's bytes as they are.
    let decoder: MarkedBlockDecoder?

    public func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), decoder: decoder)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var body: HTTPClientResponse.Body.AsyncIterator
        var decoder: MarkedBlockDecoder?

        public mutating func next() async throws -> ByteBuffer? {
            while let piece = try await body.next() {
                guard decoder != nil else { return piece }
                let bytes = try decoder!.decode(piece)
                if bytes.readableBytes > 0 { return bytes }
            }
            try decoder?.finish()
            return nil
        }
    }
}
