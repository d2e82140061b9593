import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// `backoffLimit`: every retry path, with wall time passed in (`t0` plus seconds).
@Suite struct ReconcilerStateMachineRetryTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> Date { t0 + seconds }

    static func failed(_ id: String, seq: Int, _ extra: [String: String] = [:]) -> RayJobDetails {
        var details = T.details(id, .failed, extra, seq: seq)
        details.message = "Job entrypoint command failed with exit code 1"
        return details
    }

    /// Submits attempt 1 at t0 and sees it RUNNING.
    static func running(_ m: inout M, _ extra: [String: String]) -> RunRecord? {
        guard case .submit(let run, _) = m.configChanged(T.config(extra), date: t0) else { return nil }
        _ = m.submitted(at: t0)
        _ = m.observed(T.details(run.submissionId, .running, extra), at: t0)
        return run
    }

    @Test(arguments: [(1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (9, 300)])
    func theBackoffDoublesFromTenSecondsToFiveMinutes(failures: Int, seconds: Int) {
        #expect(M.retryBackoff.delay(afterFailures: failures) == .seconds(seconds))
    }

    @Test func aFailedRunIsRetriedAfterTheBackoffUntilTheAttemptsAreUsedUp() throws {
        let limit = ["backoffLimit": "2"]
        var m = T.fresh()
        let first = try #require(Self.running(&m, limit))
        #expect(first.attempt == 1)
        #expect(m.observed(Self.failed(first.submissionId, seq: 1), at: Self.at(5)) == .sleep(.seconds(10)))
        #expect(m.status.jobStatus == .waiting, "not over: an app waiting for a terminal status must not take it")
        #expect(m.status.message.contains("attempt 1 of 3 failed: Job entrypoint command failed"))
        #expect(m.status.message.contains("attempt 2 of 3 is submitted in 10 s"))
        // Woken early (a timer's rounding): the rest of the wait.
        #expect(m.wakeup(date: Self.at(14)) == .sleep(.seconds(1)))
        guard case .submit(let second, _) = m.wakeup(date: Self.at(15)) else { Issue.record("attempt 2"); return }
        #expect(second.sequence == 2)
        #expect(second.attempt == 2)
        #expect(second.submissionId == T.id(2), "its own id: the next sequence, the same revision")
        #expect(m.journal.runs.last == second, "the intent is in the journal before the POST")
        #expect(m.submitted(at: Self.at(16)) == .fetch(submissionId: second.submissionId))
        _ = m.observed(T.details(second.submissionId, .running, seq: 2), at: Self.at(17))
        #expect(m.status.message.hasPrefix("attempt 2 of 3"))
        #expect(m.status.attempt == 2)
        #expect(
            m.status.attempts == [.init(submissionId: first.submissionId, outcome: "FAILED"), .init(submissionId: second.submissionId, outcome: "")])
        _ = m.wakeup(date: Self.at(18))
        #expect(m.observed(Self.failed(second.submissionId, seq: 2), at: Self.at(20)) == .sleep(.seconds(20)))
        guard case .submit(let third, _) = m.wakeup(date: Self.at(40)) else { Issue.record("attempt 3"); return }
        #expect(third.attempt == 3)
        _ = m.submitted(at: Self.at(41))
        #expect(m.observed(Self.failed(third.submissionId, seq: 3), at: Self.at(42)) == .none)
        #expect(m.status.jobStatus == .failed)
        #expect(m.status.message.hasPrefix("failed after 3 attempts: Job entrypoint command failed"))
        #expect(m.status.attempts.map(\.outcome) == ["FAILED", "FAILED", "FAILED"])
        #expect(m.status.reason == nil)
        #expect(m.wakeup(date: Self.at(1000)) == .none, "nothing more")
    }

    @Test func aRetryThatSucceedsEndsSucceeded() throws {
        var m = T.fresh(exit: true)
        let first = try #require(Self.running(&m, ["backoffLimit": "1"]))
        #expect(m.observed(Self.failed(first.submissionId, seq: 1), at: Self.at(1)) == .sleep(.seconds(10)), "no exit: attempts are left")
        guard case .submit(let second, _) = m.wakeup(date: Self.at(11)) else { Issue.record("attempt 2"); return }
        _ = m.submitted(at: Self.at(11))
        #expect(m.observed(T.details(second.submissionId, .succeeded, seq: 2), at: Self.at(12)) == .exit(code: 0))
        #expect(m.status.jobStatus == .succeeded)
        #expect(m.status.attempts.map(\.outcome) == ["FAILED", "SUCCEEDED"])
    }

    @Test func withoutBackoffLimitAFailedRunStaysFailedAndExitsOne() throws {
        var m = T.fresh(exit: true)
        let first = try #require(Self.running(&m, [:]))
        #expect(m.observed(Self.failed(first.submissionId, seq: 1), at: Self.at(1)) == .exit(code: 1))
        #expect(m.status.message == "Job entrypoint command failed with exit code 1", "one attempt: Ray's message as it is")
    }

    /// Only FAILED is retried: not a run stopped by a kill or for a new revision, nor one that
    /// failed while it was being stopped.
    @Test(arguments: [RayJobStatus.stopped, .failed])
    func aRunStoppedByKillIsNotRetried(endedAs status: RayJobStatus) throws {
        let limit = ["backoffLimit": "3"]
        var m = T.fresh()
        let run = try #require(Self.running(&m, limit))
        #expect(m.configChanged(T.config(limit.merging(["kill": "true"]) { $1 }), date: Self.at(1)) == .stop(submissionId: run.submissionId))
        _ = m.stopSent()
        _ = m.wakeup(date: Self.at(2))
        #expect(m.observed(T.details(run.submissionId, status), at: Self.at(2)) == .none)
        #expect(m.wakeup(date: Self.at(100)) == .none)
        #expect(m.journal.runs.count == 1, "not retried")
        // Third round: kill back to false is a resume, a new submission that starts a new series.
        guard case .submit(let resumed, _) = m.configChanged(T.config(limit), date: Self.at(101)) else { Issue.record("resumed"); return }
        #expect(resumed.attempt == 1)
        #expect(resumed.sequence == 2)
    }

    @Test func aKillDuringTheBackoffEndsTheSeries() throws {
        let limit = ["backoffLimit": "3"]
        var m = T.fresh()
        let run = try #require(Self.running(&m, limit))
        #expect(m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1)) == .sleep(.seconds(10)))
        #expect(m.configChanged(T.config(limit.merging(["kill": "true"]) { $1 }), date: Self.at(2)) == .none)
        #expect(m.status.jobStatus == .failed)
        #expect(m.wakeup(date: Self.at(30)) == .none, "the series is over: no retry while killed")
        #expect(m.journal.runs.count == 1)
        // Third round: kill back to false runs the job again, as attempt 1 of a new series.
        guard case .submit(let resumed, _) = m.configChanged(T.config(limit), date: Self.at(31)) else { Issue.record("resumed"); return }
        #expect(resumed.attempt == 1)
    }

    @Test func aNewRevisionDuringTheBackoffIsSubmittedAtOnceAsAttemptOne() throws {
        let limit = ["backoffLimit": "3"]
        var m = T.fresh()
        let run = try #require(Self.running(&m, limit))
        _ = m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1))
        let edit = limit.merging(["resubmit": "2"]) { $1 }
        guard case .submit(let next, _) = m.configChanged(T.config(edit), date: Self.at(2)) else { Issue.record("submit"); return }
        #expect(next.submissionId == T.id(2, edit))
        #expect(next.attempt == 1)
    }

    @Test func changingBackoffLimitIsNoNewRevisionAndRaisingItAfterTheLastFailureRetries() throws {
        var m = T.fresh()
        let run = try #require(Self.running(&m, [:]))
        #expect(m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1)) == .none)
        #expect(T.revision(["backoffLimit": "1"]) == T.revision(), "not part of the revision")
        guard case .submit(let retry, _) = m.configChanged(T.config(["backoffLimit": "1"]), date: Self.at(60)) else {
            Issue.record("raising the limit retries (the backoff has passed)"); return
        }
        #expect(retry.attempt == 2)
        #expect(retry.sequence == 2)
    }

    @Test func loweringBackoffLimitDuringTheBackoffEndsTheSeriesFailed() throws {
        var m = T.fresh()
        let run = try #require(Self.running(&m, ["backoffLimit": "2"]))
        _ = m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1))
        #expect(m.configChanged(T.config(["backoffLimit": "0"]), date: Self.at(2)) == .none)
        #expect(m.status.jobStatus == .failed)
    }

    /// SIGKILL during the backoff: the journal has attempt 1 ended; the wait goes on from its end.
    @Test func aRestartDuringTheBackoffWaitsOnlyWhatIsLeft() throws {
        var m = T.fresh()
        let run = try #require(Self.running(&m, ["backoffLimit": "1"]))
        _ = m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1))
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(["backoffLimit": "1"]), date: Self.at(4)) == .fetch(submissionId: run.submissionId))
        #expect(restarted.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(4)) == .sleep(.seconds(7)))
        guard case .submit(let second, _) = restarted.wakeup(date: Self.at(11)) else { Issue.record("attempt 2"); return }
        #expect(second.submissionId == T.id(2))
    }

    /// SIGKILL after the retry's intent was written: its id is checked, then sent again under the same id.
    @Test func aRestartAfterTheRetrysIntentChecksItAndSubmitsTheSameId() throws {
        var m = T.fresh()
        let run = try #require(Self.running(&m, ["backoffLimit": "1"]))
        _ = m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1))
        guard case .submit(let second, _) = m.wakeup(date: Self.at(11)) else { Issue.record("attempt 2"); return }
        var restarted = T.connected(M(jobName: "job", journal: m.journal))
        #expect(restarted.configChanged(T.config(["backoffLimit": "1"]), date: Self.at(12)) == .fetch(submissionId: second.submissionId))
        // Not on Ray: the POST never went out. Back to attempt 1, read again, and attempt 2 is sent.
        #expect(restarted.requestFailed(.notFound(what: "job"), at: Self.at(12)) == .fetch(submissionId: run.submissionId))
        guard case .submit(let again, _) = restarted.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(12)) else {
            Issue.record("attempt 2 again"); return
        }
        #expect(again.submissionId == second.submissionId)
        #expect(again.attempt == 2)
    }

    /// A new pod (no journal): the attempts are counted from the cluster's metadata.
    @Test func recoveryCountsTheAttemptsOnTheCluster() {
        var m = T.connected(M(jobName: "job", journal: nil))
        #expect(m.configChanged(T.config(["backoffLimit": "2"]), date: Self.at(5)) == .recover)
        var first = Self.failed(T.id(1), seq: 1)
        first.metadata?["raybridge.attempt"] = "1"
        first.endTime = Int64(Self.at(1).timeIntervalSince1970 * 1000)
        #expect(m.recovered([first]) == .fetch(submissionId: T.id(1)))
        #expect(m.observed(first, at: Self.at(5)) == .sleep(.seconds(6)), "10 s after Ray's end_time")
        guard case .submit(let second, _) = m.wakeup(date: Self.at(11)) else { Issue.record("attempt 2"); return }
        #expect(second.submissionId == T.id(2))
        #expect(second.attempt == 2)
        var found = T.details(T.id(2), .running, seq: 2)
        found.metadata?["raybridge.attempt"] = "2"
        var again = T.connected(M(jobName: "job", journal: nil))
        _ = again.configChanged(T.config(["backoffLimit": "2"]), date: Self.at(20))
        #expect(again.recovered([first, found]) == .fetch(submissionId: T.id(2)))
        _ = again.observed(found, at: Self.at(20))
        #expect(again.status.attempt == 2)
        #expect(again.status.attempts.map(\.outcome) == ["FAILED", ""])
    }

    /// A retry whose preparation fails (S3 down) goes back to the attempt before, as it ended,
    /// and waits out the ordinary backoff: no read of Ray resets it.
    @Test func aRetryWhosePreparationFailsBacksOff() throws {
        var m = T.fresh()
        let run = try #require(Self.running(&m, ["backoffLimit": "1"]))
        _ = m.observed(Self.failed(run.submissionId, seq: 1), at: Self.at(1))
        guard case .submit = m.wakeup(date: Self.at(11)) else { Issue.record("attempt 2"); return }
        #expect(m.preparationFailed("S3 unreachable", retryable: true) == .sleep(.seconds(1)))
        #expect(m.currentRun?.run.submissionId == run.submissionId)
        guard case .submit = m.wakeup(date: Self.at(12)) else { Issue.record("attempt 2 again"); return }
        #expect(m.preparationFailed("S3 unreachable", retryable: true) == .sleep(.seconds(2)))
    }
}
