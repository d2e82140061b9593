import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct RayVersionTests {
    @Test(arguments: [
        ("2.9.3", 2, 9, 3), ("2.60.0", 2, 60, 0), ("2.47.1", 2, 47, 1), ("3.0.0.dev0", 3, 0, 0), ("2.54.0rc1", 2, 54, 0),
        ("2.10", 2, 10, 0), (" 2.40.0 ", 2, 40, 0),
    ])
    func parses(text: String, major: Int, minor: Int, patch: Int) throws {
        let version = try #require(RayVersion(text))
        #expect((version.major, version.minor, version.patch) == (major, minor, patch))
    }

    @Test(arguments: ["", "2", "v2.9.3", "two.nine", "..", "2.x"])
    func refusesWhatIsNoVersion(text: String) {
        #expect(RayVersion(text) == nil)
    }

    @Test func comparesNumericallyNotAsText() {
        #expect(RayVersion("2.9.3")! < RayVersion("2.10.0")!)
        #expect(RayVersion("2.54.0rc1")! == RayVersion(2, 54, 0))
        #expect(RayVersion("2.54.0rc1")!.text == "2.54.0rc1", "shown as Ray wrote it")
    }

    @Test(arguments: [
        ("2.9.3", RayLogFraming.marked), ("2.32.0", .marked), ("2.33.0", .markedOrText), ("2.44.1", .markedOrText),
        ("2.45.0", .raw), ("2.47.1", .raw), ("2.60.0", .raw),
    ])
    func logFramingFollowsTheRelease(text: String, framing: RayLogFraming) {
        #expect(RayVersion(text)!.logFraming == framing)
    }

    @Test func ray252WithATokenReadsLogsThroughTheJobAPI() {
        #expect(DriverLogSource.of(RayVersion(2, 52, 1), tokenAuth: true) == .jobAPI)
        #expect(DriverLogSource.of(RayVersion(2, 52, 1), tokenAuth: false) == .stateAPI(.raw))
        #expect(DriverLogSource.of(RayVersion(2, 53, 0), tokenAuth: true) == .stateAPI(.raw))
        #expect(DriverLogSource.of(RayVersion(2, 9, 3), tokenAuth: false) == .stateAPI(.marked))
        #expect(DriverLogSource.of(nil, tokenAuth: true) == .stateAPI(.raw))
        #expect(!DriverLogSource.jobAPI.followsLive && !DriverLogSource.stateAPI(.marked).followsLive)
        #expect(DriverLogSource.stateAPI(.markedOrText).followsLive)
    }

    @Test func aLabelSelectorNeedsRay254AndIsNamedWithTheClustersVersion() {
        let parser = ConfigMapParser(jobName: "job")
        let spec = parser.parse([
            "resourceURL": "http://ray:8265", "jobdata.jobScript": "print(1)",
            "jobproperties": #"{"entrypoint_label_selector": {"zone": "a"}, "entrypoint_num_cpus": 1}"#,
        ]).spec!
        let problems = spec.unsupported(by: RayVersion(2, 40, 0))
        #expect(problems.count == 1)
        #expect(problems.first?.key == "jobproperties")
        #expect(problems.first?.message.contains("entrypoint_label_selector needs Ray 2.54.0") == true)
        #expect(problems.first?.message.contains("runs Ray 2.40.0") == true)
        #expect(spec.unsupported(by: RayVersion(2, 54, 0)).isEmpty)
        #expect(spec.unsupported(by: nil).isEmpty, "an unknown version is taken for the newest")
    }
}

/// Ray 2.9 to 2.44's file endpoint: a status byte before each 64 KiB block.
@Suite struct MarkedBlockDecoderTests {
    static let block = MarkedBlockDecoder.blockSize

    /// The body Ray writes for `log`: "1" + block, ..., "1" + last block.
    static func framed(_ log: [UInt8]) -> [UInt8] {
        stride(from: 0, to: log.count, by: block).flatMap { [UInt8(ascii: "1")] + log[$0..<min($0 + block, log.count)] }
    }

    static func log(_ size: Int) -> [UInt8] {
        // "1" and "0" inside the log too: they must stay.
        (0..<size).map { UInt8(ascii: "0") + UInt8($0 % 7) }
    }

    /// Feeds `body` in pieces cut at `cuts` (as a proxy or TCP might), returns the log.
    static func decode(_ body: [UInt8], pieceSize: Int) throws -> [UInt8] {
        var decoder = MarkedBlockDecoder()
        var out: [UInt8] = []
        for start in stride(from: 0, to: body.count, by: pieceSize) {
            let bytes = try decoder.decode(ByteBuffer(bytes: body[start..<min(start + pieceSize, body.count)]))
            out += bytes.readableBytesView
        }
        try decoder.finish()
        return out
    }

    @Test(arguments: [0, 1, 522, 65535, 65536, 65537, 3 * 65536 + 17])
    func theLogComesOutExactlyWhateverThePieces(size: Int) throws {
        let log = Self.log(size)
        // Pieces of 1 and 2 bytes put every boundary everywhere; they are slow in a debug build, so
        // only around the first status byte after a block.
        let tiny = size <= 2 * Self.block + 2 ? [1, 2] : []
        for pieceSize in tiny + [7, 4096, Self.block, Self.block + 1, Self.block + 2, 1 << 20] {
            #expect(try Self.decode(Self.framed(log), pieceSize: pieceSize) == log, "size \(size), pieces of \(pieceSize)")
        }
    }

    @Test func anErrorWrittenIntoTheBodyIsThrownNotShipped() throws {
        let body = Self.framed(Self.log(Self.block)) + Array("0Closing HTTP stream due to internal server error.\nA file is not found".utf8)
        #expect {
            try Self.decode(body, pieceSize: 1000)
        } throws: { error in
            "\(error)".contains("A file is not found")
        }
    }

    @Test func aBodyThatIsNotFramedIsRefused() throws {
        #expect(throws: RayClientError.self) { try Self.decode(Array("plain log text".utf8), pieceSize: 100) }
    }
}
