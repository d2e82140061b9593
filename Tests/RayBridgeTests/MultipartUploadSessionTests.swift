import Foundation
import Logging
import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct MultipartUploadSessionTests {
    /// A session against a fake S3, its state file in a directory of its own; time passes only
    /// in the test clock.
    struct Fixture {
        let s3 = FakeS3()
        let store: LogUploadStore
        let clock: TestClock
        let progress = Recorder<StatusSnapshot.LogShipment>()

        init(clock: TestClock = TestClock(advancesBySleeping: true)) throws {
            self.clock = clock
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            store = LogUploadStore(directory: directory)
        }

        func session() -> MultipartUploadSession {
            MultipartUploadSession(
                submissionId: "raysubmit_1", bucket: "logs", key: "job/logs/raysubmit_1.log", s3: s3, store: store,
                retryBackoff: Backoff(initial: .milliseconds(500), maximum: .seconds(30)), clock: clock,
                logger: Logger(label: "test"), onProgress: { [progress] in progress.append($0) })
        }

        func cleanup() {
            try? FileManager.default.removeItem(atPath: store.directory)
        }
    }

    static func part(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func aShortLogIsOnePutObject() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let session = f.session()
        try await session.finish(rest: Self.part("hello"))
        #expect(await f.s3.objects["job/logs/raysubmit_1.log"] == Self.part("hello"))
        #expect(await f.s3.calls == ["put"])
        #expect(f.store.load("raysubmit_1")?.complete == true)
        #expect(f.progress.all.last == .init(destination: "s3://logs/job/logs/raysubmit_1.log", bytes: 5, parts: 1, complete: true))
    }

    @Test func partsAreUploadedInOrderAndCompleted() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let session = f.session()
        try await session.upload(Self.part("aaaa"))
        try await session.upload(Self.part("bbbb"))
        #expect(f.store.load("raysubmit_1")?.parts.map(\.number) == [1, 2], "each part is on record once uploaded")
        try await session.finish(rest: Self.part("cc"))
        #expect(await f.s3.objects["job/logs/raysubmit_1.log"] == Self.part("aaaabbbbcc"))
        #expect(await f.s3.calls == ["create", "upload", "upload", "upload", "complete"])
        #expect(await f.s3.openUploads.isEmpty)
        #expect(await session.isComplete)
    }

    /// A crash after S3 took a part but before the state file said so: ListParts is believed.
    @Test func aRestartResumesThroughListParts() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let first = f.session()
        try await first.upload(Self.part("aaaa"))
        try await first.upload(Self.part("bbbb"))
        var saved = try #require(f.store.load("raysubmit_1"))
        saved.parts.removeLast()
        try f.store.save(saved)

        let second = f.session()
        #expect(await second.shipped == 4)
        try await second.resume()
        #expect(await second.shipped == 8)
        #expect(await second.nextPart == 3)
        try await second.finish(rest: Self.part("c"))
        #expect(await f.s3.objects["job/logs/raysubmit_1.log"] == Self.part("aaaabbbbc"))
    }

    @Test func aRestartStartsOverWhenTheUploadVanished() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let first = f.session()
        try await first.upload(Self.part("aaaa"))
        let uploadId = try #require(f.store.load("raysubmit_1")?.uploadId)
        await f.s3.vanish(uploadId)

        let second = f.session()
        try await second.resume()
        #expect(await second.shipped == 0)
        #expect(f.store.load("raysubmit_1")?.uploadId == nil)
        try await second.finish(rest: Self.part("whole log"))
        #expect(await f.s3.objects["job/logs/raysubmit_1.log"] == Self.part("whole log"))
    }

    /// NoSuchUpload while shipping: the session starts over and says so; the caller ships from 0.
    @Test(arguments: ["upload", "complete"]) func anUploadThatVanishesMidwayStartsOver(at call: String) async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let session = f.session()
        try await session.upload(Self.part("aaaa"))
        await f.s3.vanish(try #require(f.store.load("raysubmit_1")?.uploadId))
        await #expect(throws: S3UploadVanished.self) {
            if call == "upload" { try await session.upload(Self.part("bbbb")) } else { try await session.finish(rest: Self.part("b")) }
        }
        #expect(await session.shipped == 0)
        #expect(await session.nextPart == 1)
        #expect(f.store.load("raysubmit_1")?.uploadId == nil)
        try await session.upload(Self.part("aaaa"))
        try await session.finish(rest: Self.part("bb"))
        #expect(await f.s3.objects["job/logs/raysubmit_1.log"] == Self.part("aaaabb"))
    }

    /// Temporary failures are retried quickly, permanent ones slower; each shows in the status
    /// until the call succeeds.
    @Test func failuresAreRetriedWithBackoffAndShownUntilASuccess() async throws {
        let f = try Fixture()
        defer { f.cleanup() }
        let session = f.session()
        await f.s3.fail("upload", with: [FakeS3.error("ServiceUnavailable", status: 503), FakeS3.error("AccessDenied", status: 403)])
        try await session.upload(Self.part("aaaa"))
        #expect(await f.s3.calls == ["create", "upload", "upload", "upload"])
        let slept = f.clock.slept
        #expect(slept.count == 2)
        // 500 ms after the first failure, jittered to its upper half; a permanent error (the second
        // failure) waits as after four more failures (16 s), jittered.
        #expect(slept.first.map { $0 >= .milliseconds(250) && $0 <= .milliseconds(500) } == true, "\(slept)")
        #expect(slept.last.map { $0 >= .seconds(8) && $0 <= .seconds(16) } == true, "\(slept)")
        let errors = f.progress.all.map(\.error)
        #expect(errors.count == 3)
        #expect(errors[0]?.contains("cannot upload part 1") == true)
        #expect(errors[1]?.contains("AccessDenied") == true)
        #expect(errors[2] == nil, "a success clears the error")
    }

    @Test func cancellationStopsRetrying() async throws {
        let f = try Fixture(clock: TestClock())
        defer { f.cleanup() }
        let session = f.session()
        await f.s3.fail("put", with: Array(repeating: FakeS3.error("InternalError", status: 500), count: 3))
        let task = Task { try await session.finish(rest: Self.part("x")) }
        #expect(await f.clock.settle { await f.s3.calls.count == 1 && f.clock.sleeperCount == 1 })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(f.store.load("raysubmit_1")?.complete != true)
    }
}
