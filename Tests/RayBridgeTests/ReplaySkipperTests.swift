import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct ReplaySkipperTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var offset: Int64
        /// Each read's chunks; every read replays the log from byte 0.
        var reads: [[String]]
        var handedOn: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "one read from 0", offset: 0, reads: [["ab", "cd"]], handedOn: ["ab", "cd"]),
        Case(name: "a replay skips what was handed on", offset: 0, reads: [["ab", "c"], ["abc", "de"]], handedOn: ["ab", "c", "de"]),
        Case(name: "a chunk straddles the offset", offset: 0, reads: [["abc"], ["ab", "cdef"]], handedOn: ["abc", "def"]),
        Case(name: "start past S3's bytes", offset: 3, reads: [["abcd", "ef"]], handedOn: ["d", "ef"]),
        Case(name: "a shorter replay hands on nothing", offset: 0, reads: [["abcdef"], ["abc"]], handedOn: ["abcdef"]),
        Case(name: "empty chunks", offset: 0, reads: [["", "a", ""], ["a", "", "b"]], handedOn: ["a", "b"]),
        Case(name: "three reads", offset: 1, reads: [["ab"], ["abc"], ["a", "b", "c", "d"]], handedOn: ["b", "c", "d"]),
    ]

    @Test(arguments: cases) func handsOnEachByteOnce(_ c: Case) {
        var skipper = ReplaySkipper(from: c.offset)
        var out: [String] = []
        for read in c.reads {
            skipper.startPass()
            for chunk in read {
                if let new = skipper.take(ByteBuffer(string: chunk)) { out.append(String(buffer: new)) }
            }
        }
        #expect(out == c.handedOn)
        #expect(skipper.emitted == c.offset + Int64(c.handedOn.joined().utf8.count))
    }
}
