import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// `activeDeadlineSeconds` and runs Ray lost, with wall time passed in (`t0` plus seconds).
@Suite struct ReconcilerStateMachineDeadlineTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests
    typealias R = ReconcilerStateMachineRetryTests
    static let deadline = ["activeDeadlineSeconds": "5", "backoffLimit": "3"]

    @Test func aRunNotOverAtItsDeadlineIsStoppedAndFailedNotRetried() throws {
        var m = T.fresh(exit: true)
        let run = try #require(R.running(&m, Self.deadline))
        // The poll ramps 1 s, 2 s, 4 s... but never sleeps past the deadline.
        #expect(m.wakeup(date: R.at(1)) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .running), at: R.at(1)) == .sleep(.seconds(2)))
        #expect(m.wakeup(date: R.at(3)) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .running), at: R.at(3.5)) == .sleep(.seconds(1.5)))
        #expect(m.wakeup(date: R.at(5)) == .stop(submissionId: run.submissionId))
        #expect(m.journal.runs.last?.reason == .deadlineExceeded, "recorded before the stop is sent")
        #expect(m.status.message.contains("activeDeadlineSeconds (5 s) passed"))
        #expect(m.stopSent() == .sleep(M.stopPollInterval))
        #expect(m.wakeup(date: R.at(5.5)) == .fetch(submissionId: run.submissionId))
        #expect(m.observed(T.details(run.submissionId, .stopped), at: R.at(5.6)) == .exit(code: 1), "not retried despite backoffLimit")
        #expect(m.status.jobStatus == .failed)
        #expect(m.status.reason == .deadlineExceeded)
        #expect(m.status.rayStatus == "STOPPED")
        #expect(m.status.message.contains("not over activeDeadlineSeconds (5 s) after its submission"))
        #expect(m.status.attempts.map(\.outcome) == ["DeadlineExceeded"])
    }

    /// The deadline counts from the submission, kept in the journal: a restart does not move it.
    @Test func theDeadlineSurvivesARestart() throws {
        var m = T.fresh()
        let run = try #require(R.running(&m, Self.deadline))
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(Self.deadline), date: R.at(3)) == .fetch(submissionId: run.submissionId))
        #expect(restarted.observed(T.details(run.submissionId, .running), at: R.at(4)) == .sleep(.seconds(1)))
        #expect(restarted.wakeup(date: R.at(5)) == .stop(submissionId: run.submissionId))
    }

    /// A restart after the deadline stop was decided: it is still the deadline's stop.
    @Test func aRestartDuringTheDeadlineStopStillReportsTheDeadline() throws {
        var m = T.fresh()
        let run = try #require(R.running(&m, Self.deadline))
        #expect(m.wakeup(date: R.at(6)) == .stop(submissionId: run.submissionId))
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(Self.deadline), date: R.at(7)) == .fetch(submissionId: run.submissionId))
        #expect(restarted.observed(T.details(run.submissionId, .running), at: R.at(7)) == .sleep(M.stopPollInterval))
        _ = restarted.wakeup(date: R.at(8))
        #expect(restarted.observed(T.details(run.submissionId, .failed), at: R.at(8)) == .none, "failed while stopped: not retried either")
        #expect(restarted.status.reason == .deadlineExceeded)
        #expect(restarted.status.jobStatus == .failed)
    }

    @Test func aRunThatEndsBeforeItsDeadlineIsLeftAlone() throws {
        var m = T.fresh()
        let run = try #require(R.running(&m, Self.deadline))
        _ = m.wakeup(date: R.at(1))
        #expect(m.observed(T.details(run.submissionId, .succeeded), at: R.at(2)) == .none)
        #expect(m.wakeup(date: R.at(60)) == .none)
        #expect(m.status.reason == nil)
    }

    @Test func anAttachedRunHasNoDeadline() {
        var m = T.fresh()
        let attach = Self.deadline.merging(["id": "raysubmit_x", "jobdata.jobScript": ""]) { $1 }
        _ = m.configChanged(T.config(attach), date: R.at(0))
        var details = RayJobDetails(submissionId: "raysubmit_x", status: .running)
        details.startTime = Int64(R.at(0).timeIntervalSince1970 * 1000)
        _ = m.observed(details, at: R.at(0))
        #expect(m.wakeup(date: R.at(60)) == .fetch(submissionId: "raysubmit_x"), "polled, never stopped")
    }

    /// A new pod: a run STOPPED at least the deadline after it started was the deadline's stop.
    @Test func recoveryTellsADeadlineStopFromAKill() {
        var m = T.connected(M(jobName: "job", journal: nil))
        _ = m.configChanged(T.config(Self.deadline), date: R.at(20))
        var stopped = T.details(T.id(1), .stopped)
        stopped.startTime = Int64(R.at(0).timeIntervalSince1970 * 1000)
        stopped.endTime = Int64(R.at(5.2).timeIntervalSince1970 * 1000)
        _ = m.recovered([stopped])
        _ = m.observed(stopped, at: R.at(20))
        #expect(m.status.reason == .deadlineExceeded)
        #expect(m.status.jobStatus == .failed)
    }

    // MARK: Lost runs

    @Test func aLostRunWithAttemptsLeftIsSubmittedAgainAndTheMessageSaysItWasLost() throws {
        let limit = ["backoffLimit": "1"]
        var m = T.fresh()
        let run = try #require(R.running(&m, limit))
        _ = m.wakeup(date: R.at(1))
        #expect(m.requestFailed(.notFound(what: "job"), at: R.at(1)) == .sleep(.seconds(10)))
        #expect(m.status.jobStatus == .waiting)
        #expect(m.status.message.contains("attempt 1 of 2 was lost: Ray no longer knows submission \(run.submissionId)"))
        #expect(m.journal.runs.last?.reason == .lost)
        guard case .submit(let second, _) = m.wakeup(date: R.at(11)) else { Issue.record("attempt 2"); return }
        #expect(second.attempt == 2)
        _ = m.submitted(at: R.at(12))
        _ = m.observed(T.details(second.submissionId, .running, seq: 2), at: R.at(12))
        #expect(m.status.message.contains("attempt 1 (\(run.submissionId)) was lost"))
        #expect(m.status.attempts.map(\.outcome) == ["RunLost", ""])
        _ = m.wakeup(date: R.at(13))
        _ = m.observed(T.details(second.submissionId, .succeeded, seq: 2), at: R.at(14))
        #expect(m.status.jobStatus == .succeeded)
        #expect(m.status.reason == nil)
    }

    @Test func aLostRunWithoutAttemptsLeftIsFailedRunLost() throws {
        var m = T.fresh(exit: true)
        _ = try #require(R.running(&m, [:]))
        _ = m.wakeup(date: R.at(1))
        #expect(m.requestFailed(.notFound(what: "job"), at: R.at(1)) == .exit(code: 1))
        #expect(m.status.jobStatus == .failed)
        #expect(m.status.reason == .lost)
        #expect(m.status.errorType == "RAYBRIDGE_RUN_LOST")
    }

    /// Ray forgot a run that had ended (a restart of both): what was seen then stands.
    @Test func aRunForgottenAfterItEndedKeepsItsOutcome() throws {
        var m = T.fresh()
        let run = try #require(R.running(&m, [:]))
        _ = m.wakeup(date: R.at(1))
        _ = m.observed(T.details(run.submissionId, .succeeded), at: R.at(1))
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(), date: R.at(100)) == .fetch(submissionId: run.submissionId))
        #expect(restarted.requestFailed(.notFound(what: "job"), at: R.at(100)) == .none)
        #expect(restarted.status.jobStatus == .succeeded)
        #expect(restarted.status.reason == nil)
    }
}
