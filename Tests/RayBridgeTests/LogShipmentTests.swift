import Foundation
import Logging
import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The sink end to end against a fake cluster and a fake bucket, in test time: parts cut and
/// uploaded while the run goes on, a vanished upload started over, a lost run, a shutdown and the
/// next process's resume. The object must always equal the log, byte for byte.
@Suite struct LogShipmentTests {
    static let key = "job/logs/raysubmit_1.log"

    struct Fixture {
        let ray = FakeRay()
        let s3 = FakeS3()
        let clock = TestClock()
        let store: LogUploadStore
        let runStates = Recorder<RayJobStatus>()
        /// Anything in it: Ray lost the run.
        let lost = Recorder<Bool>()

        init() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            store = LogUploadStore(directory: directory)
        }

        let printed = PrintedOutput()

        /// A sink as `LogFollowing` makes it, with parts of `partSize` bytes; to standard output too
        /// (`stdout`), or only (`s3: false`).
        func sink(partSize: Int = 16, s3 useS3: Bool = true, stdout: Bool = false) -> LogShipment<TestClock> {
            let configuration = LogShippingConfiguration(partSize: partSize, drainWindow: .seconds(2), queueCapacity: 64)
            let logger = Logger(label: "test")
            let session = MultipartUploadSession(
                submissionId: "raysubmit_1", bucket: "logs", key: LogShipmentTests.key, s3: s3, store: store,
                retryBackoff: configuration.retryBackoff, clock: clock, logger: logger, onProgress: { _ in })
            let (ray, clock, runStates, lost) = (ray, clock, runStates, lost)
            let printer =
                stdout
                ? StdoutPrinter(submissionId: "raysubmit_1", rayURL: nil, rayVersion: nil, output: printed, store: store, logger: logger) : nil
            return LogShipment(
                session: useS3 ? session : nil, printer: printer, configuration: configuration,
                follow: { offset in
                    DriverLogFollower(
                        submissionId: "raysubmit_1", ray: ray, source: .stateAPI(.raw), mode: .exact(from: offset),
                        timing: configuration.followTiming, queueCapacity: configuration.queueCapacity, clock: clock, logger: logger)
                },
                onRunState: { runStates.append($0.status) }, abandoned: { !lost.all.isEmpty }, clock: clock, logger: logger)
        }

        /// Runs `sink` in a task; `done` says when it has returned.
        func start(_ sink: LogShipment<TestClock>) -> (task: Task<Void, Never>, done: Recorder<Bool>) {
            let done = Recorder<Bool>()
            let task = Task {
                await sink.run()
                done.append(true)
            }
            return (task, done)
        }

        /// The driver runs on a node, and a sink ships its log.
        func startWithTheRunGoingOn() async -> (task: Task<Void, Never>, done: Recorder<Bool>) {
            await ray.set(status: .running, node: "node-1")
            return start(sink())
        }

        func until(_ condition: @Sendable () async -> Bool) async -> Bool {
            await clock.advance(by: .milliseconds(250), until: condition)
        }

        var object: ByteBuffer? { get async { await s3.objects[LogShipmentTests.key] } }

        func cleanup() { try? FileManager.default.removeItem(atPath: store.directory) }
    }

    static func lines(_ range: Range<Int>) -> String { range.map { "line \($0) of the driver log\n" }.joined() }

    @Test func partsGoUpWhileTheRunGoesOnAndTheObjectIsTheLog() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let (task, done) = await f.startWithTheRunGoingOn()
        defer { task.cancel() }
        await f.ray.append(Self.lines(0..<10))
        #expect(await f.until { await f.s3.calls.filter { $0 == "upload" }.count >= 10 }, "parts are uploaded before the run ends")
        #expect(await f.object == nil)
        await f.ray.append(Self.lines(10..<20))
        await f.ray.set(status: .succeeded)
        #expect(await f.until { !done.all.isEmpty })
        #expect(await f.object == f.ray.file)
        #expect(await f.s3.openUploads.isEmpty)
        #expect(f.store.load("raysubmit_1")?.complete == true)
        #expect(f.runStates.all.last == .succeeded, "the end reaches the state machine")
    }

    @Test func aVanishedUploadIsShippedAgainFromByteZero() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let (task, done) = await f.startWithTheRunGoingOn()
        defer { task.cancel() }
        await f.ray.append(Self.lines(0..<10))
        #expect(await f.until { await f.s3.calls.filter { $0 == "upload" }.count >= 4 })
        // A lifecycle rule or an operator aborts the open upload.
        for upload in await f.s3.openUploads { await f.s3.vanish(upload) }
        await f.ray.append(Self.lines(10..<30))
        await f.ray.set(status: .failed)
        #expect(await f.until { !done.all.isEmpty })
        #expect(await f.object == f.ray.file, "nothing lost or repeated across the new upload")
        #expect(await f.s3.calls.filter { $0 == "create" }.count == 2)
        #expect(await f.s3.openUploads.isEmpty)
    }

    @Test func aLostRunsObjectIsCompletedWithWhatWasRead() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let (task, done) = await f.startWithTheRunGoingOn()
        defer { task.cancel() }
        await f.ray.append(Self.lines(0..<5))
        #expect(await f.until { await f.s3.calls.contains("upload") })
        let read = await f.ray.file
        // The head restarts without persistence: the run and its log are gone.
        f.lost.append(true)
        await f.ray.failJob(Array(repeating: .notFound(what: "job"), count: 1000))
        await f.ray.failStreams(Array(repeating: .notFound(what: "log"), count: 1000))
        await f.ray.closeStreams()
        #expect(await f.until { !done.all.isEmpty })
        #expect(await f.object == read)
        #expect(f.store.load("raysubmit_1")?.complete == true)
    }

    /// SIGTERM cancels the sink at once; the next process's sink resumes the same upload from
    /// what S3 holds and skips what Ray replays.
    @Test func aShutdownIsResumedByTheNextProcessByteExact() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        await f.ray.set(status: .running, node: "node-1")
        let (first, firstDone) = f.start(f.sink())
        await f.ray.append(Self.lines(0..<8))
        #expect(await f.until { await f.s3.calls.filter { $0 == "upload" }.count >= 5 })
        first.cancel()
        #expect(await f.until { !firstDone.all.isEmpty }, "a cancelled sink returns")
        let shipped = try #require(f.store.load("raysubmit_1")).shipped
        #expect(shipped > 0)

        await f.ray.append(Self.lines(8..<16))
        let (second, secondDone) = f.start(f.sink())
        defer { second.cancel() }
        await f.ray.set(status: .succeeded)
        #expect(await f.until { !secondDone.all.isEmpty })
        #expect(await f.object == f.ray.file)
        #expect(await f.s3.calls.filter { $0 == "create" }.count == 1, "the same upload, resumed")
        #expect(await f.s3.calls.contains("list"))
    }

    // MARK: Standard output (--driver-log-stdout)

    @Test(arguments: [false, true])
    func theLogIsPrintedAsRayHasItInWholeLines(s3: Bool) async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        await f.ray.set(status: .running, node: "node-1")
        let (task, done) = f.start(f.sink(s3: s3, stdout: true))
        defer { task.cancel() }
        await f.ray.append(Self.lines(0..<6) + "a line not ended yet")
        #expect(await f.until { await f.printed.text == Self.lines(0..<6) }, "whole lines only")
        await f.ray.append(", ended now\n" + Self.lines(6..<12) + "the last line, without its newline")
        await f.ray.set(status: .succeeded)
        #expect(await f.until { !done.all.isEmpty })
        #expect(await f.printed.text == String(buffer: await f.ray.file), "byte for byte, the unended last line too")
        #expect(await f.printed.writes.allSatisfy { $0.hasSuffix("\n") || $0.hasSuffix("newline") })
        if s3 { #expect(await f.object == f.ray.file) }
        #expect(f.store.loadPrinted("raysubmit_1")?.complete == true)
    }

    /// A shutdown in the middle: the next process prints on from where the first stopped, no line
    /// twice, none missing; standard output and S3 may be at different offsets.
    @Test(arguments: [false, true])
    func aShutdownIsPrintedOnByTheNextProcessWithNoLineTwice(s3: Bool) async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        await f.ray.set(status: .running, node: "node-1")
        let (first, firstDone) = f.start(f.sink(s3: s3, stdout: true))
        await f.ray.append(Self.lines(0..<7) + "half a li")
        #expect(await f.until { await f.printed.text == Self.lines(0..<7) })
        first.cancel()
        #expect(await f.until { !firstDone.all.isEmpty })
        await f.ray.append("ne\n" + Self.lines(7..<15))
        let (second, secondDone) = f.start(f.sink(s3: s3, stdout: true))
        defer { second.cancel() }
        await f.ray.set(status: .succeeded)
        #expect(await f.until { !secondDone.all.isEmpty })
        #expect(await f.printed.text == String(buffer: await f.ray.file), "no line twice, none missing")
        if s3 { #expect(await f.object == f.ray.file) }
    }

    /// A shutdown that cancels a write before it ran: those lines are not counted as printed, so
    /// the next process prints them (it once counted them as a broken pipe and skipped them for
    /// good: 42,744 bytes missing from `kubectl logs` in an integration run on a busy machine).
    @Test func aWriteCancelledBeforeItRanIsPrintedByTheNextProcess() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let logger = Logger(label: "test")
        func printer() -> StdoutPrinter {
            StdoutPrinter(submissionId: "raysubmit_1", rayURL: nil, rayVersion: nil, output: f.printed, store: f.store, logger: logger)
        }
        let (start, rest) = (Self.lines(0..<3), Self.lines(3..<6))
        let first = printer()
        try await first.take(ByteBuffer(string: start), at: 0)
        await f.printed.cancelNextWrite()
        await #expect(throws: CancellationError.self) { try await first.take(ByteBuffer(string: rest), at: Int64(start.utf8.count)) }
        #expect(await first.printed == Int64(start.utf8.count))
        #expect(f.store.loadPrinted("raysubmit_1")?.printed == Int64(start.utf8.count), "the saved position")

        let second = printer()
        try await second.take(ByteBuffer(string: start + rest), at: 0)
        #expect(await f.printed.text == start + rest, "no line missing, none twice")
    }
}

/// Standard output as a test sees it: every write, in order.
actor PrintedOutput: LogOutput {
    private(set) var writes: [String] = []
    private var cancelNext = false
    var text: String { writes.joined() }

    /// The next write is cancelled before it runs, as `StandardOutput`'s thread pool does when a
    /// shutdown cancels the task waiting for it.
    func cancelNextWrite() { cancelNext = true }

    func write(_ bytes: ByteBuffer) async throws {
        if cancelNext {
            cancelNext = false
            throw CancellationError()
        }
        writes.append(String(buffer: bytes))
    }
}
