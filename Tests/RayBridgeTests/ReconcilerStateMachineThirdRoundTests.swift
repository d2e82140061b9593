import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// `preRunningDeadlineSeconds` and `keepFinishedRuns`, with wall time passed in (`t0` plus seconds).
@Suite struct ReconcilerStateMachineThirdRoundTests {
    typealias M = TestMachine
    typealias T = ReconcilerStateMachineTests
    typealias R = ReconcilerStateMachineRetryTests

    static func pending(_ id: String, seq: Int = 1, _ extra: [String: String]) -> RayJobDetails {
        T.details(id, .pending, extra, seq: seq)
    }

    /// A run that never starts is stopped at the deadline, a failed attempt retried within
    /// backoffLimit; after the last one the job is FAILED, reason PreRunningDeadlineExceeded.
    @Test func aRunThatNeverStartsIsStoppedAtItsPreRunningDeadlineAndRetried() throws {
        let keys = ["preRunningDeadlineSeconds": "10", "backoffLimit": "1"]
        var m = T.fresh()
        guard case .submit(let first, _) = m.configChanged(T.config(keys), date: R.at(0)) else { Issue.record("submit"); return }
        _ = m.submitted(at: R.at(0))
        #expect(m.observed(Self.pending(first.submissionId, keys), at: R.at(0)) == .sleep(.seconds(1)))
        // The poll never sleeps past the deadline.
        #expect(m.wakeup(date: R.at(9)) == .fetch(submissionId: first.submissionId))
        #expect(m.observed(Self.pending(first.submissionId, keys), at: R.at(9)) == .sleep(.seconds(1)))
        #expect(m.wakeup(date: R.at(10)) == .stop(submissionId: first.submissionId))
        #expect(m.journal.runs.last?.reason == .preRunningDeadlineExceeded, "recorded before the stop is sent")
        #expect(m.status.message.contains("preRunningDeadlineSeconds (10 s) passed"))
        #expect(m.stopSent() == .sleep(.seconds(10)), "retried after the backoff, also while Ray keeps it PENDING")
        #expect(m.status.jobStatus == .waiting)
        #expect(m.status.message.contains("attempt 1 of 2 was not RUNNING within preRunningDeadlineSeconds (10 s)"))
        #expect(m.status.rayStatus == "PENDING", "what Ray says of it, truthfully")
        guard case .submit(let second, _) = m.wakeup(date: R.at(20)) else { Issue.record("attempt 2"); return }
        #expect(second.attempt == 2)
        _ = m.submitted(at: R.at(20.5))
        _ = m.observed(Self.pending(second.submissionId, seq: 2, keys), at: R.at(20.5))
        #expect(m.wakeup(date: R.at(30.5)) == .stop(submissionId: second.submissionId))
        #expect(m.wakeup(date: R.at(30.6)) == .none, "the stop is in flight")
        #expect(m.stopSent() == .none, "the last attempt: over")
        #expect(m.status.jobStatus == .failed)
        #expect(m.status.reason == .preRunningDeadlineExceeded)
        #expect(m.status.message.hasPrefix("failed after 2 attempts"))
        #expect(m.status.attempts.map(\.outcome) == ["PreRunningDeadlineExceeded", "PreRunningDeadlineExceeded"])
    }

    /// Once RUNNING, the pre-running deadline no longer applies; `activeDeadlineSeconds` keeps its meaning.
    @Test func aRunThatStartsInTimeIsLeftAlone() throws {
        let keys = ["preRunningDeadlineSeconds": "10"]
        var m = T.fresh()
        guard case .submit(let run, _) = m.configChanged(T.config(keys), date: R.at(0)) else { Issue.record("submit"); return }
        _ = m.submitted(at: R.at(0))
        _ = m.observed(Self.pending(run.submissionId, keys), at: R.at(0))
        _ = m.wakeup(date: R.at(5))
        _ = m.observed(T.details(run.submissionId, .running, keys), at: R.at(5))
        #expect(m.wakeup(date: R.at(60)) == .fetch(submissionId: run.submissionId), "polled, not stopped")
        #expect(m.observed(T.details(run.submissionId, .running, keys), at: R.at(60)) == .sleep(.seconds(4)))
    }

    /// 30 revisions with keepFinishedRuns 3: the oldest finished runs are deleted, never the newest
    /// run, never one whose log is not complete in S3.
    @Test func finishedRunsBeyondKeepFinishedRunsAreDeletedOldestFirst() throws {
        let s3 = ReconcilerStateMachineFollowTests.s3
        var keys = s3.merging(["keepFinishedRuns": "3"]) { $1 }
        var m = T.fresh()
        var deleted: [String] = []
        var ids: [String] = []
        for i in 1...30 {
            keys["resubmit"] = "\(i)"
            var step = m.configChanged(T.config(keys))
            // Stop the run before, if one is going.
            if case .stop(let id) = step {
                _ = m.stopSent()
                _ = m.wakeup()
                step = m.observed(T.details(id, .stopped, keys, seq: i - 1))
            }
            guard case .submit(let run, _) = step else { Issue.record("revision \(i) submits: \(step)"); return }
            ids.append(run.submissionId)
            _ = m.submitted(at: Date())
            _ = m.observed(T.details(run.submissionId, .succeeded, keys, seq: i))
            deleted += m.answerDeletes()
            // The log of the run is complete.
            _ = m.shipmentEnded(run.submissionId, complete: true)
            deleted += m.answerDeletes()
        }
        #expect(deleted == Array(ids.prefix(27)), "oldest first, the newest 3 kept")
        let remaining = Set(ids).subtracting(deleted)
        #expect(remaining.count == 3)
        #expect(m.journal.runs.filter { $0.deleted == true }.count == 27, "deleted runs stay in the journal: never run again")
        // A wiped status directory: the newest run is still there, and nothing is submitted.
        var wiped = T.connected(M(jobName: "job", journal: nil))
        #expect(wiped.configChanged(T.config(keys)) == .recover)
        let onCluster = ids.enumerated().filter { remaining.contains($0.element) }.map {
            T.details($0.element, .succeeded, keys.merging(["resubmit": "\($0.offset + 1)"]) { $1 }, seq: $0.offset + 1)
        }
        #expect(wiped.recovered(onCluster) == .fetch(submissionId: ids.last!))
        #expect(wiped.observed(onCluster.last!) == .none, "the newest run of the revision is there: nothing submitted")
    }

    @Test func aRunWhoseLogIsNotCompleteIsNotDeleted() throws {
        let keys = ReconcilerStateMachineFollowTests.s3.merging(["keepFinishedRuns": "1"]) { $1 }
        var m = T.fresh()
        var ids: [String] = []
        for i in 1...3 {
            guard case .submit(let run, _) = m.configChanged(T.config(keys.merging(["resubmit": "\(i)"]) { $1 })) else {
                Issue.record("submit"); return
            }
            ids.append(run.submissionId)
            _ = m.submitted(at: Date())
            _ = m.observed(T.details(run.submissionId, .succeeded, keys.merging(["resubmit": "\(i)"]) { $1 }, seq: i))
        }
        #expect(!m.actions.contains { if case .delete = $0.request { true } else { false } }, "no log is complete yet")
        _ = m.shipmentEnded(ids[1], complete: true)
        #expect(m.answerDeletes() == [ids[1]], "the complete one goes, the older incomplete one stays")
    }

    enum Request: Equatable {
        case delete(submissionId: String)
        case other
    }
    static func request(_ action: M.Machine.Action) -> Request? {
        switch action.request {
        case .delete(let id, _): .delete(submissionId: id)
        case nil: nil
        default: .other
        }
    }
}

extension TestMachine {
    /// Answers every delete the machine sends, one after the other, as Ray would; returns their ids.
    mutating func answerDeletes() -> [String] {
        var deleted: [String] = []
        while case .delete(let id, _) = inFlight {
            deleted.append(id)
            _ = answerInFlight(.deleted)
        }
        return deleted
    }
}
