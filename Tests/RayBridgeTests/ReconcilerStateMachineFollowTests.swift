import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The decisions besides the calls to Ray: which run's log is followed and where it goes, what the
/// journal holds when each action is executed, and the waits, with time passed in.
@Suite struct ReconcilerStateMachineFollowTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests
    static let s3 = ["s3.endpoint": "127.0.0.1:9000", "s3.secure": "false", "s3upload.bucket": "logs"]

    @Test func withoutS3ALiveRunIsFollowedOnlyUntilItEnds() {
        var m = T.fresh()
        #expect(m.logOrders.isEmpty)
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        #expect(m.logOrders.isEmpty, "not before Ray took the POST")
        _ = m.submitted(at: Date())
        let plan = M.Machine.LogFollowPlan(submissionId: run.submissionId, rayURL: T.rayURL, rayVersion: RayVersion(2, 60, 0), ship: nil)
        #expect(m.logOrders == [.watch(plan)])
        _ = m.observed(T.details(run.submissionId, .running))
        #expect(m.logOrders == [.watch(plan)], "followed once")
        _ = m.wakeup()
        _ = m.observed(T.details(run.submissionId, .succeeded))
        #expect(m.logOrders == [.watch(plan), .unwatch(submissionId: run.submissionId)], "nothing to notice once it ended")
    }

    @Test func withS3TheLogIsShippedAlsoAfterTheRunEnded() {
        var m = T.fresh()
        guard case .submit(let run, _) = m.configChanged(T.config(Self.s3)) else { Issue.record("submit"); return }
        _ = m.submitted(at: Date())
        _ = m.observed(T.details(run.submissionId, .succeeded, Self.s3))
        guard case .ship(let plan) = m.logOrders.first, m.logOrders.count == 1 else { Issue.record("one shipment: \(m.logOrders)"); return }
        #expect(plan.submissionId == run.submissionId)
        #expect(plan.ship?.bucket == "logs")
    }

    @Test func withDriverLogStdoutTheLogIsReadAlsoWithoutS3() {
        var m = T.connected(M(jobName: "job", journal: Journal(jobName: "job"), driverLogStdout: true))
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        _ = m.submitted(at: Date())
        let plan = M.Machine.LogFollowPlan(
            submissionId: run.submissionId, rayURL: T.rayURL, rayVersion: RayVersion(2, 60, 0), ship: nil, stdout: true)
        #expect(m.logOrders == [.ship(plan)], "printed, not only watched")
        _ = m.observed(T.details(run.submissionId, .succeeded))
        #expect(m.logOrders == [.ship(plan)], "printed to its end, also after the run ended")
    }

    @Test func theLogIsReadFromTheClusterTheRunLivesOn() {
        var m = T.fresh()
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        _ = m.submitted(at: Date())
        _ = m.observed(T.details(run.submissionId, .running))
        let other = URL(string: "http://other:8265")!
        let orders = m.logOrders
        _ = m.configChanged(T.config(["resourceURL": other.absoluteString]))
        _ = m.versionRead(RayVersion(2, 40, 0), at: other)
        #expect(m.logOrders == orders, "the old cluster, read as its own release: nothing new to follow")
        guard case .watch(let plan) = orders.first else { Issue.record("watched"); return }
        #expect(plan.rayURL == T.rayURL)
        #expect(plan.rayVersion == RayVersion(2, 60, 0))
    }

    @Test func anAttachedRunIsFollowedFromTheStart() {
        var m = T.fresh()
        #expect(m.configChanged(T.config(["id": "raysubmit_x", "jobdata.jobScript": ""])) == .fetch(submissionId: "raysubmit_x"))
        guard case .watch(let plan) = m.logOrders.last else { Issue.record("watched"); return }
        #expect(plan.submissionId == "raysubmit_x")
    }

    @Test func theIntentIsInTheJournalWhenTheSubmitIsExecutedAndTheStopWhenTheStopIs() {
        var m = T.fresh()
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        #expect(m.journal.currentId == run.submissionId)
        #expect(m.journal.runs.last?.submitted == false)
        _ = m.submitted(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(m.journal.runs.last?.submitted == true)
        #expect(m.journal.runs.last?.submittedAt == Date(timeIntervalSince1970: 1_800_000_000))
        _ = m.observed(T.details(run.submissionId, .running))
        #expect(m.configChanged(T.config(["kill": "true"])) == .stop(submissionId: run.submissionId))
        #expect(m.journal.runs.last?.stopRequested == true, "a restart waits for the stop instead of sending another at once")
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(["kill": "true"])) == .fetch(submissionId: run.submissionId))
        #expect(restarted.observed(T.details(run.submissionId, .running)) == .sleep(M.stopPollInterval))
    }

    @Test func aRunFoundOnTheClusterTakesRaysSubmitTime() {
        var m = T.fresh()
        guard case .submit(let run, _) = m.configChanged(T.config()) else { Issue.record("submit"); return }
        _ = m.requestFailed(.duplicateSubmission(id: run.submissionId))
        var details = T.details(run.submissionId, .running)
        details.startTime = 1_800_000_000_500
        _ = m.observed(details)
        #expect(m.status.submitTime == Date(timeIntervalSince1970: 1_800_000_000.5))
        #expect(m.journal.runs.last?.submittedAt == m.status.submitTime)
    }

    @Test func theFollowerSeeingTheEndActsAtOnceButNotDuringARequest() {
        var m = T.fresh()
        let (run, _) = T().submitted(&m)
        // A fetch is in flight: its answer decides, the follower's news waits.
        #expect(m.noticed(T.details(run.submissionId, .succeeded)) == .none)
        #expect(m.observed(T.details(run.submissionId, .running)) == .sleep(.seconds(1)))
        #expect(m.noticed(T.details("someone-else", .failed)) == .none)
        #expect(m.noticed(T.details(run.submissionId, .succeeded)) == .none)
        #expect(m.status.jobStatus == .succeeded)
        #expect(m.wakeup() == .none, "no poll of a finished run")
    }

    @Test func aFollowersNewsThatTheRunGoesOnStartsThePollsWaitAgain() {
        var m = T.fresh()
        let (run, _) = T().submitted(&m)
        #expect(m.observed(T.details(run.submissionId, .running)) == .sleep(.seconds(1)))
        #expect(m.wakeup() == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .running)) == .sleep(.seconds(2)))
        // The follower checks every 2.5 s: each answer replaces the pending wait, so while it
        // checks more often than the machine would, the machine asks Ray nothing.
        for _ in 0..<3 { #expect(m.noticed(T.details(run.submissionId, .running)) == .sleep(.seconds(2))) }
        #expect(m.noticed(T.details(run.submissionId, .succeeded)) == .none)
        #expect(m.status.jobStatus == .succeeded)
        #expect(m.noticed(T.details(run.submissionId, .succeeded)) == .none, "an ended run has no poll to move")
    }

    @Test func waitsCountFromThePassedInTime() {
        var m = T.fresh()
        let t0 = ContinuousClock.now
        guard case .submit(let run, _) = m.configChanged(T.config(), at: t0) else { Issue.record("submit"); return }
        _ = m.submitted(at: Date())
        _ = m.observed(T.details(run.submissionId, .running))
        // Two edits 300 ms apart are a burst: the second waits a full window after it, whatever
        // the wall clock says.
        #expect(m.configChanged(T.config(["resubmit": "1"]), at: t0 + .seconds(10)) == .stop(submissionId: run.submissionId))
        _ = m.stopSent()
        #expect(m.configChanged(T.config(["resubmit": "2"]), at: t0 + .milliseconds(10_300)) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .stopped)) == .sleep(.seconds(1)), "an answer carries no time: the last event's counts")
        #expect(m.wakeup(at: t0 + .milliseconds(11_000)) == .sleep(.milliseconds(300)))
        guard case .submit(_, let spec) = m.wakeup(at: t0 + .milliseconds(11_300)) else { Issue.record("submit after the window"); return }
        #expect(spec.revision == T.revision(["resubmit": "2"]))
    }
}

/// An upload an earlier process left open is read on from the cluster it belongs to.
@Suite struct LeftoverUploadTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests

    @Test func aLeftoverIsShippedFromItsOwnClusterAfterResourceURLMoved() throws {
        let old = URL(string: "http://old-head:8265")!
        let leftover = LeftoverUpload(submissionId: "job-1-aaaaaaaa", rayURL: old, rayVersion: RayVersion(2, 47, 1))
        var m = T.connected(M(jobName: "job", journal: Journal(jobName: "job"), leftovers: [leftover]))
        _ = m.configChanged(T.config(ReconcilerStateMachineFollowTests.s3))
        let plans = m.logOrders.compactMap { if case .ship(let plan) = $0 { plan } else { nil } }
        let plan = try #require(plans.first { $0.submissionId == leftover.submissionId })
        #expect(plan.rayURL == old, "not the current resourceURL (\(T.rayURL))")
        #expect(plan.rayVersion == RayVersion(2, 47, 1), "read as its own release")
    }

    @Test func theUploadStateRecordsItsClusterAndTheStoreFindsItAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leftover-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = LogUploadStore(directory: directory)
        let old = URL(string: "http://old-head:8265")!
        try store.save(
            LogUploadState(
                submissionId: "job-1-aaaaaaaa", bucket: "logs", key: "job/logs/job-1-aaaaaaaa.log", rayURL: old, rayVersion: RayVersion(2, 47, 1)))
        #expect(store.leftovers() == [LeftoverUpload(submissionId: "job-1-aaaaaaaa", rayURL: old, rayVersion: RayVersion(2, 47, 1))])
    }
}
