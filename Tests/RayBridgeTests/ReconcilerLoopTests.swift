import Foundation
import Logging
import NIOCore
import ServiceLifecycleTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The reconciler's loop end to end on a test clock: a fake cluster and bucket, the real journal
/// and status directory. What a user checks: the status files, the S3 object byte for byte, the
/// uploads left open, and how many times Ray was asked to run something.
@Suite struct ReconcilerLoopTests {
    /// A status directory, a cluster and a bucket, shared by the processes a test starts one after
    /// the other (a restart keeps the emptyDir).
    struct Fixture {
        static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        static let base = [
            "resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)", "updateInterval": "5",
            "s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "logs",
        ]
        let clock = TestClock()
        let cluster: FakeCluster
        let s3 = FakeS3()
        let statusDirectory: String

        init() throws {
            statusDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: statusDirectory, withIntermediateDirectories: true)
            let clock = clock
            cluster = FakeCluster(date: { Fixture.t0 + clock.now.offset.timeInterval })
        }

        /// One sidecar process; `edits` feeds it ConfigMap snapshots.
        func reconciler(
            exitOnCompletion: Bool = false, drainTimeout: Duration = .seconds(20)
        ) throws -> (
            Reconciler<TestClock>, AsyncStream<DirectorySnapshot>.Continuation, AsyncStream<DirectorySnapshot>
        ) {
            let (clock, cluster, s3) = (clock, cluster, s3)
            let logs = LogFollowing(
                statusDirectory: statusDirectory, configuration: LogShippingConfiguration(partSize: 64, drainWindow: .seconds(2), queueCapacity: 256),
                ray: { _ in cluster }, s3: { _ in s3 }, clock: clock, date: { Fixture.t0 + clock.now.offset.timeInterval },
                logger: Logger(label: "test"))
            let reconciler = try Reconciler(
                statusDirectory: statusDirectory,
                machine: .init(jobName: "job", exitOnCompletion: exitOnCompletion, drainTimeout: drainTimeout),
                calls: cluster, logs: logs, clock: clock, date: { Fixture.t0 + clock.now.offset.timeInterval }, logger: Logger(label: "test"))
            let (snapshots, edits) = AsyncStream.makeStream(of: DirectorySnapshot.self)
            return (reconciler, edits, snapshots)
        }

        static func snapshot(_ extra: [String: String] = [:]) -> DirectorySnapshot {
            DirectorySnapshot(values: base.merging(extra) { $1 }, isKubeletManaged: true)
        }

        func status(_ key: String) -> String {
            (try? String(contentsOfFile: "\(statusDirectory)/\(key)", encoding: .utf8)) ?? ""
        }

        /// `status.json`'s `log`.
        func logStatus() -> [String: Any] {
            let data = FileManager.default.contents(atPath: "\(statusDirectory)/status.json") ?? Data()
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            return json?["log"] as? [String: Any] ?? [:]
        }

        func object(_ id: String) async -> String? {
            await s3.objects["job/logs/\(id).log"].map { String(buffer: $0) }
        }

        /// Moves test time in `step`s until `done` (false: it never was).
        func until(step: Duration = .milliseconds(100), _ done: @Sendable () async -> Bool) async -> Bool {
            await clock.advance(by: step, until: done)
        }
    }

    static let log = (1...40).map { "line \($0) of the driver, \(String(repeating: "x", count: $0))\n" }.joined()

    @Test func anEditIsSubmittedOnceAndItsLogIsCompleteInS3() async throws {
        let f = try Fixture()
        try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot())
            #expect(await f.until { await f.cluster.submissions.count == 1 })
            let id = try #require(await f.cluster.submissions.first)
            #expect(await f.until { f.status("status.jobStatus") == "RUNNING" })
            await f.cluster.append(id, Self.log)
            #expect(await f.until { await f.s3.calls.contains("upload") }, "parts go up while the run goes on")
            await f.cluster.set(id, .succeeded)
            #expect(await f.until { f.status("status.jobStatus") == "SUCCEEDED" })
            #expect(await f.until { await f.object(id) != nil })
            #expect(await f.object(id) == Self.log)
            #expect(await f.until { f.logStatus()["complete"] as? Bool == true })
            trigger.triggerGracefulShutdown()
            #expect(await f.until { f.status("status.jobStatus") == "SUCCEEDED" })
            #expect(await exit == nil)
            #expect(await f.cluster.submissions == [id], "one submission")
            #expect(await f.s3.openUploads.isEmpty)
        }
    }

    /// The pod is deleted right after its run ended: the log still arrives, whole.
    @Test(arguments: [Self.log, "one short line\n"])
    func aShutdownRightAfterTheEndCompletesTheLog(log: String) async throws {
        let f = try Fixture()
        try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot())
            #expect(await f.until { await f.cluster.submissions.count == 1 })
            let id = try #require(await f.cluster.submissions.first)
            // S3 is slow once at the end: the shutdown comes while the object is not complete.
            await f.s3.fail("put", with: [FakeS3.error("SlowDown", status: 503)])
            await f.s3.fail("complete", with: [FakeS3.error("SlowDown", status: 503)])
            await f.cluster.append(id, log)
            await f.cluster.set(id, .succeeded)
            #expect(await f.until { f.status("status.jobStatus") == "SUCCEEDED" })
            let completeBefore = await f.object(id) != nil
            trigger.triggerGracefulShutdown()
            // Time moves only as far as the shipment's own waits take it.
            #expect(await f.until { await f.object(id) != nil })
            #expect(await exit == nil)
            #expect(await f.object(id) == log, "byte-exact")
            #expect(await f.s3.openUploads.isEmpty, "no multipart upload left open")
            #expect(f.logStatus()["complete"] as? Bool == true)
            #expect(f.logStatus()["resumable"] as? Bool == false)
            if completeBefore { Issue.record("the object was complete before the shutdown: the test proves nothing") }
        }
    }

    /// SIGTERM while the run goes on: the upload is left open and said to be resumable, and the
    /// next process ships the rest, byte-exact.
    @Test func aShutdownWhileTheRunGoesOnLeavesTheUploadForTheNextStart() async throws {
        let f = try Fixture()
        let half = String(Self.log.prefix(Self.log.utf8.count / 2))
        let rest = String(Self.log.dropFirst(half.count))
        let id = try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot())
            #expect(await f.until { await f.cluster.submissions.count == 1 })
            let id = try #require(await f.cluster.submissions.first)
            await f.cluster.append(id, half)
            #expect(await f.until { await f.s3.calls.filter { $0 == "upload" }.count >= 2 })
            trigger.triggerGracefulShutdown()
            #expect(await exit == nil)
            #expect(await f.s3.openUploads.count == 1, "left open")
            #expect(f.logStatus()["resumable"] as? Bool == true)
            #expect(f.status("status.jobStatus") == "RUNNING")
            return id
        }
        try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot())
            await f.cluster.append(id, rest)
            await f.cluster.set(id, .succeeded)
            #expect(await f.until { await f.object(id) != nil })
            #expect(await f.object(id) == Self.log, "the next process resumed the same upload, byte-exact")
            trigger.triggerGracefulShutdown()
            #expect(await exit == nil)
            #expect(await f.cluster.submissions == [id], "the restart attached, it did not submit")
            #expect(await f.s3.openUploads.isEmpty)
        }
    }

    /// SIGKILL between writing the journal and the POST: the id is checked, then posted once.
    @Test(arguments: [false, true])
    func aCrashBetweenTheJournalAndThePostSubmitsOnce(postReachedRay: Bool) async throws {
        let f = try Fixture()
        let spec = try #require(ConfigMapParser(jobName: "job").parse(Fixture.snapshot().values).spec)
        let id = RunRecord.submissionId(jobName: "job", sequence: 1, revision: spec.revision)
        let intent = RunRecord(submissionId: id, revision: spec.revision, sequence: 1, submitted: false, rayURL: spec.rayURL, attempt: 1)
        try JournalStore(statusDirectory: f.statusDirectory).save(Journal(jobName: "job", nextSequence: 2, runs: [intent], currentId: id))
        if postReachedRay {
            await f.cluster.add(
                id, status: .running, metadata: ["raybridge.job": "job", "raybridge.revision": spec.revision.hex, "raybridge.sequence": "1"])
        }
        try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot())
            #expect(await f.until { f.status("status.jobStatus") == "RUNNING" })
            trigger.triggerGracefulShutdown()
            #expect(await exit == nil)
        }
        let requests = await f.cluster.requests
        #expect(
            requests.first { if case .fetch = $0 { true } else { false } } == .fetch(submissionId: id, on: spec.rayURL), "the intent is checked first"
        )
        #expect(await f.cluster.submissions == (postReachedRay ? [] : [id]), "posted once, under the same id")
    }

    /// `backoffLimit: 1` and `activeDeadlineSeconds: 30`: the failed first attempt is retried after
    /// its backoff, the second outlives its deadline and is stopped; both logs are complete.
    @Test func aFailedRunIsRetriedAndTheRetryIsStoppedAtItsDeadline() async throws {
        let f = try Fixture()
        let lifecycle = ["backoffLimit": "1", "activeDeadlineSeconds": "30"]
        try await testGracefulShutdown { trigger in
            let (reconciler, edits, snapshots) = try f.reconciler()
            async let exit = reconciler.run(snapshots: snapshots)
            edits.yield(Fixture.snapshot(lifecycle))
            #expect(await f.until { await f.cluster.submissions.count == 1 })
            let first = try #require(await f.cluster.submissions.first)
            await f.cluster.append(first, "attempt 1\n")
            let failedAt = f.clock.now
            await f.cluster.set(first, .failed, message: "exit code 1")
            #expect(await f.until { f.status("status.jobStatus") == "WAITING" }, "not over: a retry follows")
            #expect(await f.until(step: .milliseconds(500)) { await f.cluster.submissions.count == 2 })
            #expect(failedAt.duration(to: f.clock.now) >= .seconds(10), "after the 10 s backoff")
            let second = try #require(await f.cluster.submissions.last)
            await f.cluster.append(second, "attempt 2\n")
            let startedAt = f.clock.now
            #expect(await f.until(step: .milliseconds(500)) { await f.cluster.stops.contains(second) })
            #expect(startedAt.duration(to: f.clock.now) >= .seconds(29), "not before its deadline")
            #expect(await f.until { f.status("status.jobStatus") == "FAILED" })
            #expect(f.status("status.json").contains("\"reason\" : \"DeadlineExceeded\""))
            #expect(await f.until { await f.object(second) != nil })
            #expect(await f.object(first) == "attempt 1\n")
            #expect(await f.object(second) == "attempt 2\n")
            trigger.triggerGracefulShutdown()
            #expect(await exit == nil)
            #expect(await f.cluster.submissions.count == 2)
        }
    }

    /// `--exit-on-completion`: the exit code comes once the log is complete.
    @Test func exitOnCompletionWaitsForTheLog() async throws {
        let f = try Fixture()
        let (reconciler, edits, snapshots) = try f.reconciler(exitOnCompletion: true)
        async let exit = reconciler.run(snapshots: snapshots)
        edits.yield(Fixture.snapshot())
        #expect(await f.until { await f.cluster.submissions.count == 1 })
        let id = try #require(await f.cluster.submissions.first)
        await f.cluster.append(id, Self.log)
        await f.cluster.set(id, .failed)
        #expect(await f.until { await f.object(id) != nil })
        #expect(await exit == 1)
        #expect(await f.object(id) == Self.log)
    }
}
