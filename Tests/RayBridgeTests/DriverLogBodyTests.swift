import AsyncHTTPClient
import NIOCore
import Testing

@testable import RayBridgeClients

/// The three bodies a driver log comes in, read to their end: what the follower sees of each.
@Suite struct DriverLogBodyTests {
    func read(_ body: DriverLogBody) async throws -> [String] {
        var pieces: [String] = []
        var iterator = body.makeAsyncIterator()
        while let piece = try await iterator.next() { pieces.append(String(buffer: piece)) }
        // Ended stays ended.
        #expect(try await iterator.next() == nil)
        return pieces
    }

    @Test func anHTTPBodyIsPassedOnAsItComes() async throws {
        let body = DriverLogBody(body: .bytes(ByteBuffer(string: "line 1\nline 2\n")), decoder: nil)
        #expect(try await read(body) == ["line 1\nline 2\n"])
    }

    @Test func anHTTPBodyWithStatusBytesIsDecoded() async throws {
        let marked = DriverLogBody(body: .bytes(ByteBuffer(string: "1hello")), decoder: MarkedBlockDecoder())
        #expect(try await read(marked) == ["hello"])
        let failed = DriverLogBody(body: .bytes(ByteBuffer(string: "0no such file")), decoder: MarkedBlockDecoder())
        await #expect(throws: RayClientError.self) { try await read(failed) }
    }

    @Test func aWholeLogIsOneChunk() async throws {
        #expect(try await read(DriverLogBody(whole: ByteBuffer(string: "all of it"))) == ["all of it"])
    }

    @Test func chunksFromElsewhereArePassedOn() async throws {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        continuation.yield(ByteBuffer(string: "a"))
        continuation.yield(ByteBuffer(string: "b"))
        continuation.finish()
        #expect(try await read(DriverLogBody(chunks: stream)) == ["a", "b"])
    }
}
