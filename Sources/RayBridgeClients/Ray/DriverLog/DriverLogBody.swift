import AsyncHTTPClient
import NIOCore
import RayBridgeCore

/// The bytes of a driver log as Ray sends them, with the status bytes of older releases taken out
/// (`MarkedBlockDecoder`). Read with backpressure: AsyncHTTPClient reads from the socket only as
/// the body is consumed.
public struct DriverLogBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private enum Source: Sendable {
        /// A state API body: the log's bytes as they are (`decoder` nil), or in status-byte blocks.
        case http(HTTPClientResponse.Body, decoder: MarkedBlockDecoder?)
        /// The whole log at once, read from the job API instead of the state API.
        case whole(ByteBuffer)
        /// Bytes from elsewhere (a fake cluster in tests), already decoded.
        case chunks(AsyncThrowingStream<ByteBuffer, any Error>)
    }

    private let source: Source

    init(body: HTTPClientResponse.Body, decoder: MarkedBlockDecoder?) {
        source = .http(body, decoder: decoder)
    }

    init(whole: ByteBuffer) {
        source = .whole(whole)
    }

    /// A body whose bytes are `chunks`, already decoded.
    public init(chunks: AsyncThrowingStream<ByteBuffer, any Error>) {
        source = .chunks(chunks)
    }

    public func makeAsyncIterator() -> Iterator {
        switch source {
        case .http(let body, let decoder): Iterator(.http(body.makeAsyncIterator(), decoder: decoder))
        case .whole(let bytes): Iterator(.whole(bytes))
        case .chunks(let chunks): Iterator(.chunks(chunks.makeAsyncIterator()))
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        fileprivate enum Reading {
            case http(HTTPClientResponse.Body.AsyncIterator, decoder: MarkedBlockDecoder?)
            /// Nil once handed on.
            case whole(ByteBuffer?)
            case chunks(AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator)
        }

        private var reading: Reading

        fileprivate init(_ reading: Reading) {
            self.reading = reading
        }

        public mutating func next() async throws -> ByteBuffer? {
            switch reading {
            case .whole(let bytes):
                reading = .whole(nil)
                return bytes
            case .chunks(var chunks):
                defer { reading = .chunks(chunks) }
                return try await chunks.next()
            case .http(var body, var decoder):
                defer { reading = .http(body, decoder: decoder) }
                while let piece = try await body.next() {
                    guard var marked = decoder else { return piece }
                    let bytes = try marked.decode(piece)
                    decoder = marked
                    if bytes.readableBytes > 0 { return bytes }
                }
                try decoder?.finish()
                return nil
            }
        }
    }
}
