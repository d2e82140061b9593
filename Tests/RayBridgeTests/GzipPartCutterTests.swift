import Foundation
import NIOCore
import RayBridgeTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// `s3upload.compression: gzip`: parts cut by their compressed size, each one gzip member, so
/// any prefix of parts (a resumed upload) and the whole object gunzip to the log. Checked with
/// the system's `gzip -d`, not with our own inflate.
@Suite struct GzipPartCutterTests {
    static func gunzip(_ data: ByteBuffer) async throws -> Data {
        let path = NSTemporaryDirectory() + "raybridge-gzip-\(UUID().uuidString.prefix(8)).gz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(data.readableBytesView).write(to: URL(fileURLWithPath: path))
        let child = try await ChildProcess.run(["gzip", "-dc", path], standardErrorToo: false)
        guard child.status == 0 else { throw CocoaError(.fileReadCorruptFile) }
        return child.output
    }

    /// Log-like text with some randomness, so that it compresses about as real logs do.
    static func log(lines: Int) -> ByteBuffer {
        var rng = SplitMix64(seed: 7)
        var buffer = ByteBuffer()
        for line in 0..<lines {
            let words = (0..<(Int(rng.next() % 20) + 1)).map { _ in String(rng.next() % 100_000, radix: 36) }
            buffer.writeString("\(line) INFO step=\(line % 97) \(words.joined(separator: " ")) äöü\n")
        }
        return buffer
    }

    @Test func partsAreMembersAndTheObjectGunzipsToTheLog() async throws {
        let input = Self.log(lines: 60_000)
        var cutter = PartCutter(nextPart: 1, partSize: { _ in 64 << 10 }, compression: .gzip)
        var object = ByteBuffer()
        var logBytes = 0
        var spare: ByteBuffer?
        var members = 0
        var rest = input
        while rest.readableBytes > 0 {
            let chunk = rest.readSlice(length: min(rest.readableBytes, 40_000))!
            cutter.append(chunk)
            while var part = cutter.cut(reusing: &spare) {
                #expect(part.bytes.readableBytes >= 64 << 10, "S3's minimum is about the stored bytes")
                #expect(try await Self.gunzip(part.bytes).count == part.logBytes, "each part is a member of its own")
                logBytes += part.logBytes
                members += 1
                object.writeBuffer(&part.bytes)
                spare = part.storage
            }
        }
        var last = cutter.takeRest()
        logBytes += last.logBytes
        object.writeBuffer(&last.bytes)
        #expect(members >= 3)
        #expect(logBytes == input.readableBytes)
        #expect(try await Self.gunzip(object) == Data(input.readableBytesView))
        #expect(object.readableBytes * 2 < input.readableBytes, "it compresses: \(object.readableBytes) of \(input.readableBytes)")
    }

    @Test func anEmptyLogIsAnEmptyGzipStream() async throws {
        var cutter = PartCutter(nextPart: 1, partSize: { _ in 5 << 20 }, compression: .gzip)
        let rest = cutter.takeRest()
        #expect(rest.logBytes == 0)
        #expect(rest.bytes.readableBytes > 0)
        #expect(try await Self.gunzip(rest.bytes).isEmpty)
    }
}
