import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct PartCutterTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var firstPart = 1
        var partSize: @Sendable (Int) -> Int
        var chunks: [Int]
        var parts: [Int]
        var rest: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing", partSize: { _ in 4 }, chunks: [], parts: [], rest: 0),
        Case(name: "short log: all rest", partSize: { _ in 4 }, chunks: [1, 2], parts: [], rest: 3),
        Case(name: "exact fit", partSize: { _ in 4 }, chunks: [4], parts: [4], rest: 0),
        Case(name: "chunks across parts", partSize: { _ in 4 }, chunks: [3, 3, 3], parts: [4, 4], rest: 1),
        Case(name: "one chunk, several parts", partSize: { _ in 4 }, chunks: [10], parts: [4, 4], rest: 2),
        Case(name: "parts grow", partSize: { $0 <= 2 ? 4 : 8 }, chunks: [7, 13], parts: [4, 4, 8], rest: 4),
        Case(name: "resumed at part 3", firstPart: 3, partSize: { $0 <= 2 ? 4 : 8 }, chunks: [9], parts: [8], rest: 1),
        Case(
            name: "the configuration's growth", partSize: { LogShippingConfiguration(partSize: 2).partSize(forPart: $0) },
            chunks: [4000, 6], parts: Array(repeating: 2, count: 2000) + [4], rest: 2),
    ]

    @Test(arguments: cases) func cutsPartsInOrder(_ c: Case) {
        var cutter = PartCutter(nextPart: c.firstPart, partSize: c.partSize)
        var input = ByteBuffer()
        var output = ByteBuffer()
        var sizes: [Int] = []
        var numbers: [Int] = []
        var spare: ByteBuffer?
        for (index, size) in c.chunks.enumerated() {
            let chunk = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
            input.writeImmutableBuffer(chunk)
            cutter.append(chunk)
            while var part = cutter.cut(reusing: &spare) {
                sizes.append(part.bytes.readableBytes)
                numbers.append(part.number)
                output.writeBuffer(&part.bytes)
                spare = part.storage
            }
        }
        var rest = cutter.takeRest().bytes
        #expect(sizes == c.parts)
        #expect(numbers == Array(c.firstPart..<(c.firstPart + c.parts.count)))
        #expect(rest.readableBytes == c.rest)
        output.writeBuffer(&rest)
        #expect(output == input, "the parts and the rest are the log, in order")
    }

    /// The uploaded part's buffer is the one that fills on: no fresh allocation per part.
    @Test func anUploadedPartsBufferIsReused() {
        var cutter = PartCutter(nextPart: 1, partSize: { _ in 4 })
        cutter.append(ByteBuffer(string: "abcdefghij"))
        var none: ByteBuffer?
        // The part's slice goes out of scope here, as it does when its upload ends.
        var spare: ByteBuffer? = {
            let part = cutter.cut(reusing: &none)!
            #expect(String(buffer: part.bytes) == "abcd")
            return part.storage
        }()
        let address = spare!.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let second = cutter.cut(reusing: &spare)!
        #expect(spare == nil, "taken")
        #expect(String(buffer: second.bytes) == "efgh")
        #expect(cutter.pending.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == address)
        #expect(String(buffer: cutter.pending) == "ij")
    }
}
